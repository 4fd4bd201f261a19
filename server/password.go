package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password hashes are argon2id in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$key), so each hash carries the
// parameters it was made with.

const (
	saltLen = 16
	keyLen  = 32
	// maxHashMemoryKiB bounds the memory a stored hash may ask for, so a
	// corrupt or hostile hash cannot exhaust memory on verification.
	maxHashMemoryKiB = 1 << 20
)

var errBadHash = errors.New("malformed password hash")

// HashPassword returns the argon2id hash of password with the given cost,
// for storing in store.Account.PasswordHash (used by chat-server user add).
func HashPassword(p PasswordParams, password string) (string, error) {
	return hashPassword(p, password)
}

func hashPassword(p PasswordParams, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword reports whether password matches the stored hash. The key
// comparison takes constant time.
func verifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, errBadHash
	}
	if p.Time < 1 || p.Time > 64 || p.MemoryKiB < 8 || p.MemoryKiB > maxHashMemoryKiB || p.Threads < 1 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
