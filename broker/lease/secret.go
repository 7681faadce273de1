package lease

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"

	"github.com/awf-broker/awf-broker/broker/secret"
)

// SecretPrefix starts every lease secret, so leak scanners can find them.
const SecretPrefix = "awfl_"

// secretBytes is the entropy of a lease secret.
const secretBytes = 32

// maxSecretLen bounds what checkSecret hashes; a real secret is 48 bytes.
const maxSecretLen = 128

// newSecret returns a fresh secret and its SHA-256.
func newSecret() (secret.Value, [sha256.Size]byte, error) {
	raw := make([]byte, secretBytes)
	if _, err := rand.Read(raw); err != nil {
		return secret.Value{}, [sha256.Size]byte{}, fmt.Errorf("lease secret: %w", err)
	}
	s := SecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	return secret.New(s), sha256.Sum256([]byte(s)), nil
}

// checkSecret compares the presented secret's hash with the stored one in
// constant time.
func (l *Lease) checkSecret(presented string) bool {
	// Hash through a stack buffer: []byte(presented) would allocate.
	var buf [maxSecretLen]byte
	if len(presented) > len(buf) {
		return false
	}
	n := copy(buf[:], presented)
	sum := sha256.Sum256(buf[:n])
	return subtle.ConstantTimeCompare(sum[:], l.hash[:]) == 1
}
