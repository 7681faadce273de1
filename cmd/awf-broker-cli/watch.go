package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/client"
)

func watchCmd(g *globals) *cobra.Command {
	var opts client.WatchOptions
	var count int
	cmd := &cobra.Command{Use: "watch", Short: "Print the broker's events as they happen (admins all; others their own)", Args: exactArgs(0),
		Long: "Print one line per event (-o json: one JSON object per line) until interrupted,\n" +
			"the broker closes the stream, or --count events have been printed.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c := g.client()
			defer c.Close()
			w, err := c.Watch(ctx, opts)
			if err != nil {
				return err
			}
			defer w.Close()
			for n := 0; count <= 0 || n < count; n++ {
				var err error
				if g.output == "json" {
					var b []byte
					if b, err = w.NextRaw(ctx); err == nil {
						_, err = fmt.Fprintf(g.env.stdout, "%s\n", b)
					}
				} else {
					var ev api.Event
					if ev, err = w.Next(ctx); err == nil {
						_, err = io.WriteString(g.env.stdout, eventLine(ev)+"\n")
					}
				}
				if err != nil {
					if ctx.Err() != nil && errors.Is(err, context.Canceled) {
						return nil // interrupted
					}
					return err
				}
			}
			return nil
		}}
	f := cmd.Flags()
	f.Uint64Var(&opts.Since, "since", 0, "first replay the retained events numbered above this")
	f.StringSliceVar(&opts.Types, "type", nil, `keep only this event type, e.g. lease.created or "lease.*" (repeatable)`)
	f.IntVar(&count, "count", 0, "exit after this many events (0: until interrupted)")
	return cmd
}

// eventLine formats an event as one line: time, number, type, then what it
// is about and its details as sorted key=value pairs.
func eventLine(ev api.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  #%-5d %-26s", ev.Time.UTC().Format(time.RFC3339), ev.Seq, ev.Type)
	kv := func(k, v string) {
		if v == "" {
			return
		}
		if strings.ContainsAny(v, " \t\"=") {
			v = fmt.Sprintf("%q", v)
		}
		b.WriteString(" " + k + "=" + v)
	}
	kv("credential", ev.Credential)
	kv("lease", ev.Lease)
	kv("identity", ev.Identity)
	if h := ev.Holder; h != nil {
		kv("uid", fmt.Sprint(h.UID))
		kv("gid", fmt.Sprint(h.GID))
		kv("pid", fmt.Sprint(h.PID))
		kv("label", h.Label)
		if h.Container != "" {
			kv("container", h.Container[:min(12, len(h.Container))])
		}
	}
	keys := make([]string, 0, len(ev.Detail))
	for k := range ev.Detail {
		if k == "uid" && ev.Holder != nil {
			continue // already shown
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kv(k, fmt.Sprint(ev.Detail[k]))
	}
	return strings.TrimRight(b.String(), " ")
}
