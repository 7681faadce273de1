package daemon

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/lease"
)

// Reasons recorded on the leases a reload revokes.
const (
	reasonRemoved  = "credential removed by reload"
	reasonNarrowed = "credential changed by reload: the lease is outside its new scope"
	reasonRebound  = "identity changed by reload"
)

// ReloadSummary says what a reload did, by credential name.
type ReloadSummary struct {
	Added, Removed, Changed, Unchanged []string
	// Revoked counts the leases the reload revoked.
	Revoked int
	// RestartNeeded lists settings that changed but apply only at the
	// next start (the socket, the metrics listener).
	RestartNeeded []string
}

// ReloadFile re-reads Options.ConfigPath and applies it with Reload. An
// invalid file is refused with every problem it has, and the running
// config stays as it was.
func (d *Daemon) ReloadFile() (ReloadSummary, error) {
	sum, err := d.reloadFile()
	if err != nil {
		d.log.Error("reload refused; the old config stays", "error", err)
	}
	return sum, err
}

func (d *Daemon) reloadFile() (ReloadSummary, error) {
	path := d.opts.ConfigPath
	if path == "" {
		return ReloadSummary{}, fmt.Errorf("reload: the config came from %s, not a file; nothing to re-read", d.config().Source)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return ReloadSummary{}, fmt.Errorf("reload refused, the old config stays: %w", err)
	}
	if d.opts.Override != nil {
		d.opts.Override(cfg)
	}
	return d.Reload(cfg)
}

// Reload applies a new config while serving:
//
//   - new credentials start their refresh loop;
//   - removed ones stop, drop their token, and their leases are revoked;
//   - changed ones (any field different, or their identity rebuilt) are
//     rebuilt and exchange afresh; their leases stay unless the change
//     narrowed what they may do: a lease whose hosts are no longer all
//     within the credential's hosts, whose holder may no longer lease it,
//     or whose header shape changed (another provider, or a different
//     needs_body_sha256) is revoked; when the identity's binding changed
//     (see below) all its leases are revoked, as on re-registration;
//   - unchanged ones keep their token, schedule and leases.
//
// Identities likewise: an unchanged one keeps its run-time registration;
// one whose only change is its allow list keeps it too; any other change
// rebuilds it from the daemon's environment, which ends the binding of a
// registered job (DESIGN §5): the credentials that use it are rebuilt and
// their leases revoked.
//
// The new config is built in full before anything changes: if any part
// fails (a provider error, a writable key file) the reload is refused and
// the old config keeps running. The socket, the metrics listener and the
// log format apply at the next start; Reload reports them.
func (d *Daemon) Reload(cfg *config.Config) (ReloadSummary, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.config()
	var sum ReloadSummary

	oldIDs := d.ids.load()
	newIDs := make(map[string]*identEntry, len(cfg.Identities))
	rebound := map[string]bool{} // identities whose binding ended
	rebuiltID := map[string]bool{}
	for _, id := range cfg.Identities {
		prev, ok := oldIDs[id.Name]
		switch {
		case ok && reflect.DeepEqual(prev.cfg, id):
			newIDs[id.Name] = prev
		case ok && prev.cfg.Type == id.Type && onlyAllowDiffers(prev.cfg, id):
			e := *prev
			e.cfg = id
			if prev.runtime != nil {
				rt := *prev.runtime
				rt.allowUIDs, rt.allowGIDs = id.Allow.UIDs, id.Allow.GIDs
				e.runtime = &rt
			}
			newIDs[id.Name] = &e
		default:
			e, err := d.newIdentity(id)
			if err != nil {
				return sum, fmt.Errorf("reload refused, the old config stays: %w", err)
			}
			newIDs[id.Name] = e
			if ok {
				rebuiltID[id.Name] = true
				rebound[id.Name] = prev.runtime != nil
			}
		}
	}

	oldCreds := d.creds.load()
	newCreds := make(map[string]*credential, len(cfg.Credentials))
	var started []*credential
	for _, c := range cfg.Credentials {
		prev, ok := oldCreds.byName[c.Name]
		if ok && reflect.DeepEqual(prev.cfg, c) && !rebuiltID[c.Identity] && cfg.WaitForToken == old.WaitForToken {
			rotated, err := valueRotated(prev, c)
			if err != nil {
				return ReloadSummary{}, fmt.Errorf("reload refused, the old config stays: credential %q: %w", c.Name, err)
			}
			if !rotated {
				newCreds[c.Name] = prev
				sum.Unchanged = append(sum.Unchanged, c.Name)
				continue
			}
		}
		cr, err := d.newCredential(c, newIDs, cfg.WaitForToken)
		if err != nil {
			return ReloadSummary{}, fmt.Errorf("reload refused, the old config stays: %w", err)
		}
		newCreds[c.Name] = cr
		started = append(started, cr)
		if ok {
			sum.Changed = append(sum.Changed, c.Name)
		} else {
			sum.Added = append(sum.Added, c.Name)
		}
	}

	// Commit: from here on nothing fails. Leases end before the new
	// credentials exist, so none of them is ever served a token it would
	// not be granted now.
	var retired []*credential
	for name, prev := range oldCreds.byName {
		next, kept := newCreds[name]
		switch {
		case !kept:
			sum.Removed = append(sum.Removed, name)
			retired = append(retired, prev)
			sum.Revoked += d.leases.RevokeCredential(name, reasonRemoved)
		case next != prev:
			retired = append(retired, prev)
			if rebound[prev.identity] || rebound[next.identity] {
				sum.Revoked += d.leases.RevokeCredential(name, reasonRebound)
			} else {
				sum.Revoked += d.revokeOutside(prev, next, cfg)
			}
		}
	}
	d.cfg.Store(cfg)
	d.ids.cur.Store(&newIDs)
	d.creds.cur.Store(newCredSnap(newCreds))
	for _, c := range retired {
		retire(c)
	}
	for _, name := range sum.Removed {
		d.obs.metrics.Forget(name)
	}
	for _, c := range started {
		d.startLoopLocked(c)
	}
	sum.RestartNeeded = restartNeeded(old, cfg)
	for _, s := range [][]string{sum.Added, sum.Removed, sum.Changed, sum.Unchanged} {
		sort.Strings(s)
	}
	if lvl := hclog.LevelFromString(cfg.Log.Level); lvl != hclog.NoLevel && cfg.Log.Level != old.Log.Level {
		d.log.SetLevel(lvl)
	}
	var rebuilt []string
	for name := range rebuiltID {
		rebuilt = append(rebuilt, name)
	}
	sort.Strings(rebuilt)
	d.log.Info("config reloaded", "source", cfg.Source, "identities_rebuilt", strings.Join(rebuilt, ","),
		"added", strings.Join(sum.Added, ","), "removed", strings.Join(sum.Removed, ","),
		"changed", strings.Join(sum.Changed, ","), "unchanged", strings.Join(sum.Unchanged, ","),
		"leases_revoked", sum.Revoked)
	d.Publish(api.Event{Type: api.EventReload, Detail: map[string]any{
		"added": sum.Added, "removed": sum.Removed, "changed": sum.Changed,
		"leases_revoked": sum.Revoked, "restart_needed": sum.RestartNeeded,
	}})
	for _, what := range sum.RestartNeeded {
		d.log.Warn("setting changed; it applies after a restart (systemctl restart awf-brokerd)", "setting", what)
	}
	return sum, nil
}

// retire stops a credential's refresh loop and drops its token, so a
// request still holding it gets a retryable 503 and looks again.
func retire(c *credential) {
	if c.stop != nil {
		c.stop()
	}
	c.cache.Purge()
}

// revokeOutside revokes the leases on a changed credential that its new
// definition would not grant, and returns how many.
func (d *Daemon) revokeOutside(prev, next *credential, cfg *config.Config) int {
	shapeChanged := prev.info.Provider != next.info.Provider || prev.info.NeedsBodySHA256 != next.info.NeedsBodySHA256
	var ids []string
	d.leases.List(func(l *lease.Lease) bool {
		if l.Credential != next.info.Name || l.State() != api.LeaseActive {
			return false
		}
		holderOK := isAdminIn(cfg, d.uid, l.Holder.Cred) ||
			slices.Contains(next.info.AllowUIDs, l.Holder.UID) || slices.Contains(next.info.AllowGIDs, l.Holder.GID)
		if shapeChanged || !holderOK || lease.Subset(l.Scope.Hosts, next.info.Hosts) != nil {
			ids = append(ids, l.ID)
		}
		return false
	})
	n := 0
	for _, id := range ids {
		if _, err := d.leases.Revoke(id, reasonNarrowed); err == nil {
			n++
		}
	}
	return n
}

// onlyAllowDiffers reports whether a and b differ in nothing but who may
// register them.
func onlyAllowDiffers(a, b config.Identity) bool {
	a.Allow, b.Allow = config.Allow{}, config.Allow{}
	return reflect.DeepEqual(a, b)
}

// restartNeeded names the settings that differ and apply only at start.
func restartNeeded(old, cfg *config.Config) []string {
	var out []string
	if !reflect.DeepEqual(old.Socket, cfg.Socket) {
		out = append(out, "socket")
	}
	if !reflect.DeepEqual(old.Metrics, cfg.Metrics) {
		out = append(out, "metrics")
	}
	if old.Log.Format != cfg.Log.Format {
		out = append(out, "log.format")
	}
	return out
}
