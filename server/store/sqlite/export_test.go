package sqlite

// SetTail turns the in-memory tail on or off for Page and Since, so a test
// can compare both answers on the same data. Call it only from the goroutine
// that reads.
func SetTail(s *Store, on bool) { s.noTail = !on }

// MigrationSQL is migration i's SQL, for tests that build an older schema.
func MigrationSQL(i int) string { return migrations[i] }
