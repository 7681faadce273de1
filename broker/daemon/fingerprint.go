package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
)

// maxValueFile bounds what a value_file fingerprint reads.
const maxValueFile = 64 << 10

// identityFingerprint stands for what an identity is built from, but its
// allow list (who may register it is the access policy's business and
// does not end a registration).
func identityFingerprint(id config.Identity) string {
	id.Allow = config.Allow{}
	return digest(id)
}

// credentialFingerprint stands for everything a credential is built from:
// its config (but its allow list, which is the policy's), the daemon's
// wait_for_token, the identity it exchanges, and the contents of its
// value_file, so that a rotated key file is a changed credential on
// SIGHUP (DESIGN §5, Files).
func credentialFingerprint(c config.Credential, wait time.Duration, identity string) (string, error) {
	c.Allow = config.Allow{}
	var file string
	if c.ValueFile != "" {
		sum, err := fileDigest(c.ValueFile)
		if err != nil {
			return "", fmt.Errorf("credential %q value_file: %w", c.Name, err)
		}
		file = sum
	}
	return digest(struct {
		Credential config.Credential
		Wait       time.Duration
		Identity   string
		File       string
	}{c, wait, identity, file}), nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxValueFile)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digest is the SHA-256 of v's JSON form (config structs encode fully
// and deterministically: no maps).
func digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fingerprint: %v", err)) // config structs always encode
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
