package peer

import (
	"context"
	"net"
)

type ctxKey struct{}

type ctxValue struct {
	cred Cred
	err  error
}

// ConnContext reads the connection's peer credentials once, at accept, and
// stores them (or the error) in the returned context. It fits
// http.Server.ConnContext.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	cred, err := FromConn(c)
	return context.WithValue(ctx, ctxKey{}, &ctxValue{cred: cred, err: err})
}

// WithCred returns ctx carrying cred, for transports that learn the caller
// another way, and for tests.
func WithCred(ctx context.Context, cred Cred) context.Context {
	return context.WithValue(ctx, ctxKey{}, &ctxValue{cred: cred})
}

// FromContext returns the caller stored by ConnContext or WithCred; ok is
// false when there is none or reading it failed.
func FromContext(ctx context.Context) (cred Cred, ok bool) {
	v, _ := ctx.Value(ctxKey{}).(*ctxValue)
	if v == nil || v.err != nil {
		return Cred{}, false
	}
	return v.cred, true
}

// ContextError returns why ConnContext could not read the caller, or nil.
func ContextError(ctx context.Context) error {
	if v, _ := ctx.Value(ctxKey{}).(*ctxValue); v != nil {
		return v.err
	}
	return nil
}
