package identity

import (
	"context"
	"fmt"
	"strings"

	"github.com/awf-broker/awf-broker/broker/filetrust"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// File is a subject-token source that reads a file at every Mint, so a
// rotated (projected) token is picked up on the next exchange. The file
// must pass filetrust.Secret (owned by root or the daemon's uid, mode
// 0600 or 0640 at most, 64 KiB at most).
type File struct {
	path string
}

// NewFile returns a source reading path.
func NewFile(path string) *File { return &File{path: path} }

// Mint reads the file. The audience is ignored: the file's issuer fixed it.
func (f *File) Mint(_ context.Context, _ string) (secret.Value, error) {
	b, err := filetrust.Secret("identity file").Read(f.path)
	if err != nil {
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Code: "identity_file", Err: err}
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
