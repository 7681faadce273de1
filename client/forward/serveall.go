package forward

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// port is one port Run or RunSidecar opens.
type port struct {
	addr string
	// cfg configures the port's forwarder; nil for a port that only
	// answers the sidecar's /health and /reflect.
	cfg *Config
	// name starts the port's errors ("route …", "sidecar: port …").
	name string
	// handler serves the port given its forwarder (nil without cfg);
	// nil serves the forwarder itself.
	handler func(*Forwarder) http.Handler
	// refused wraps the error of a lease the broker refuses for good.
	refused func(error) error
	// logger receives the port's server errors.
	logger *slog.Logger
}

// openAll makes every port's forwarder and listens on every address, in
// order. When one fails it closes everything it opened and returns the
// error: nothing is served and no lease is taken (serveAll takes them).
func openAll(ports []port) ([]listener, error) {
	ls := make([]listener, 0, len(ports))
	fail := func(err error) ([]listener, error) {
		for _, l := range ls {
			_ = l.ln.Close()
			if l.fwd != nil {
				_ = l.fwd.Close()
			}
		}
		return nil, err
	}
	for _, p := range ports {
		var f *Forwarder
		if p.cfg != nil {
			var err error
			if f, err = New(*p.cfg); err != nil {
				return fail(fmt.Errorf("%s: %w", p.name, err))
			}
		}
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			if f != nil {
				_ = f.Close()
			}
			return fail(fmt.Errorf("%s: listen on %s: %w", p.name, p.addr, err))
		}
		var h http.Handler = f
		if p.handler != nil {
			h = p.handler(f)
		}
		ls = append(ls, listener{ln: ln, srv: NewServer(h, p.logger), fwd: f, refused: p.refused})
	}
	return ls, nil
}

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
