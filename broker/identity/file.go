package identity

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// maxFileBytes bounds an identity file; a JWT is a few KiB.
const maxFileBytes = 64 << 10

// File is a subject-token source that reads a file at every Mint, so a
// rotated (projected) token is picked up on the next exchange.
type File struct {
	path string
}

// NewFile returns a source reading path.
func NewFile(path string) *File { return &File{path: path} }

// Mint reads the file. The audience is ignored: the file's issuer fixed it.
func (f *File) Mint(_ context.Context, _ string) (secret.Value, error) {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Code: "identity_file", Err: fmt.Errorf("identity file: %w", err)}
	}
	if len(b) > maxFileBytes {
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Code: "identity_file", Detail: fmt.Sprintf("identity file %s: larger than %d bytes", f.path, maxFileBytes)}
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Code: "identity_file", Detail: fmt.Sprintf("identity file %s is empty", f.path)}
	}
	if err := checkJWT(tok); err != nil {
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Code: "identity_file", Detail: fmt.Sprintf("identity file %s: %v", f.path, err)}
	}
	return secret.New(tok), nil
}
