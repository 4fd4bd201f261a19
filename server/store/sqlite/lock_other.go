//go:build !unix

package sqlite

import "os"

// lockFile is a no-op where flock is missing: run one server per data
// directory there.
func lockFile(path string) (*os.File, error) { return nil, nil }
