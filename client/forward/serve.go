package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server limits for the forwarder's listeners.
const (
	// MaxHeaderBytes bounds request headers; larger ones get 431.
	MaxHeaderBytes = 1 << 20
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	ReadHeaderTimeout = 10 * time.Second
	// ShutdownGrace is how long in-flight requests (streams included) may
	// run on after the serving context ends, before connections are cut.
	ShutdownGrace = 10 * time.Second
)

// NewServer returns an http.Server for h with the forwarder's limits:
// ReadHeaderTimeout, MaxHeaderBytes (431 beyond), idle timeout; no read
// or write timeout, since uploads and streams may be long. It speaks
// HTTP/1.1 and HTTP/2 cleartext with prior knowledge, which the AWS SDK
// for JavaScript v3 uses by default against an http:// endpoint.
func NewServer(h http.Handler, logger *slog.Logger) *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	s := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		Protocols:         &protos,
	}
	if logger != nil {
		s.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	} else {
		s.ErrorLog = log.New(io.Discard, "", 0)
	}
	return s
}

// ListenAndServe serves h on addr until ctx ends, then shuts down
// gracefully (ShutdownGrace). It returns nil after a shutdown caused by ctx.
func ListenAndServe(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("forward: listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, NewServer(h, nil))
}

// Serve serves srv on ln until ctx ends, then shuts srv down gracefully
// (ShutdownGrace) and closes what remains. It returns nil after a shutdown
// caused by ctx.
func Serve(ctx context.Context, ln net.Listener, srv *http.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("forward: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		_ = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("forward: serve on %s: %w", ln.Addr(), serr)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("forward: shut down %s: %w", ln.Addr(), err)
	}
	return nil
}
