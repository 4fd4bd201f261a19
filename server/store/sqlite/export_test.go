package sqlite

// SetTail turns the in-memory tail on or off for Page and Since, so a test
// can compare both answers on the same data. Call it only from the goroutine
// that reads.
func SetTail(s *Store, on bool) { s.noTail = !on }
