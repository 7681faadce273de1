package forward

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// listener is one open port of Run or RunSidecar: its server and the
// forwarder behind it (nil for a port that only answers /health).
type listener struct {
	ln  net.Listener
	srv *http.Server
	fwd *Forwarder
	// refused wraps the error of a lease the broker refuses for good,
	// naming the port.
	refused func(error) error
}

// serveAll serves every listener and acquires each forwarder's lease
// until ctx ends or one of them fails for good; then it closes the
// forwarders, revoking their leases, and returns that failure or nil.
func serveAll(ctx context.Context, ls []listener, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2*len(ls))
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Serve(ctx, l.ln, l.srv); err != nil {
				errc <- err
				cancel()
			}
		}()
		if l.fwd == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.fwd.Start(ctx); err != nil && ctx.Err() == nil {
				errc <- l.refused(err)
				cancel()
			}
		}()
	}
	<-ctx.Done()
	wg.Wait()
	for _, l := range ls {
		if l.fwd == nil {
			continue
		}
		if err := l.fwd.Close(); err != nil {
			logger.Warn("closing forwarder", "error", err)
		}
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}
