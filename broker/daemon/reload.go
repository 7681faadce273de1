package daemon

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/catalog"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/reload"
)

// reasonReload is the reason of every lease a reload revokes or shortens
// (its event's detail.reason); the audit log says why.
const reasonReload = "reload"

// ReloadSummary says what a reload did, by credential name.
type ReloadSummary struct {
	Added, Removed, Changed, Unchanged []string
	// Revoked counts the leases the reload revoked.
	Revoked int
	// Shortened counts the leases it shortened (a lower lease_ttl or
	// lease_max_lifetime).
	Shortened int
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

// Reload applies a new config while serving. What it does is the pure
// plan of broker/reload (reload.Plan), which this only carries out:
//
//   - new credentials start their refresh loop; removed ones stop and drop
//     their token; changed ones (another fingerprint: config, key file
//     contents, identity) are rebuilt and exchange afresh; unchanged ones
//     keep their token and schedule;
//   - every active lease is re-checked against the new config and revoked
//     (reason "reload") or shortened when it no longer fits, so nothing
//     granted under the old config outlives it;
//   - an identity whose config changed beyond its allow list is rebuilt
//     from the daemon's environment, which ends a registered job's
//     binding: the leases on its credentials are revoked (DESIGN §5).
//
// The new config is built in full before anything changes: if any part
// fails (a provider error, a writable key file) the reload is refused and
// the old config keeps running. The socket, the metrics listener and the
// log format apply at the next start; Reload reports them.
func (d *Daemon) Reload(cfg *config.Config) (ReloadSummary, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.config()
	refused := func(err error) (ReloadSummary, error) {
		return ReloadSummary{}, fmt.Errorf("reload refused, the old config stays: %w", err)
	}

	oldIDs := d.ids.Load()
	newIDs := make(map[string]*catalog.IdentityEntry, len(cfg.Identities))
	var rebuiltIDs []string
	for _, id := range cfg.Identities {
		if prev, ok := oldIDs[id.Name]; ok && prev.Fingerprint == identityFingerprint(id) {
			newIDs[id.Name] = prev // keeps its registration
			continue
		}
		e, err := d.newIdentity(id)
		if err != nil {
			return refused(err)
		}
		newIDs[id.Name] = e
		if _, ok := oldIDs[id.Name]; ok {
			rebuiltIDs = append(rebuiltIDs, id.Name)
		}
	}

	oldCreds := d.creds.Load()
	next := reload.State{Policy: policyOf(cfg, d.uid)}
	for _, c := range cfg.Credentials {
		rc, err := planOf(c, newIDs[c.Identity], cfg.WaitForToken)
		if err != nil {
			return refused(err)
		}
		next.Credentials = append(next.Credentials, rc)
	}
	prev := reload.State{Policy: d.pol.Load()}
	for _, c := range oldCreds.ByName {
		prev.Credentials = append(prev.Credentials, c.Plan())
	}
	// The leases are checked at the commit, inside Exclusive.
	plan := reload.Plan(prev, next, nil, d.opts.Clock.Now())

	newCreds := make(map[string]*catalog.Entry, len(cfg.Credentials))
	var started []*catalog.Entry
	for i, c := range cfg.Credentials {
		if !slices.Contains(plan.Start, c.Name) {
			newCreds[c.Name] = oldCreds.ByName[c.Name]
			continue
		}
		cr, err := d.newCredential(c, newIDs[c.Identity], cfg.WaitForToken, next.Credentials[i])
		if err != nil {
			return refused(err)
		}
		newCreds[c.Name] = cr
		started = append(started, cr)
	}

	// Commit: from here on nothing fails. Inside Exclusive no lease is
	// being created or renewed, so every lease made under the old config
	// is active now and is checked; leases end before the new credentials
	// exist, so none of them is ever served a token it would not be
	// granted now; and a lease change after it reads only the new config.
	sum := ReloadSummary{Added: plan.Added, Removed: plan.Removed, Changed: plan.Changed, Unchanged: plan.Keep}
	d.creds.Exclusive(func() {
		d.endLeases(reload.Plan(prev, next, d.activeLeases(), d.opts.Clock.Now()), &sum)
		d.cfg.Store(cfg)
		d.pol.Store(next.Policy)
		d.ids.Store(newIDs)
		d.creds.Store(catalog.NewSnapshot(newCreds))
	})
	for _, name := range plan.Stop {
		oldCreds.ByName[name].Retire()
	}
	for _, name := range plan.Removed {
		d.obs.Metrics().Forget(name)
	}
	for _, c := range started {
		d.startLoopLocked(c)
	}
	sum.RestartNeeded = config.RestartNeeded(old, cfg)
	if lvl := hclog.LevelFromString(cfg.Log.Level); lvl != hclog.NoLevel && cfg.Log.Level != old.Log.Level {
		d.log.SetLevel(lvl)
	}
	sort.Strings(rebuiltIDs)
	d.log.Info("config reloaded", "source", cfg.Source, "identities_rebuilt", strings.Join(rebuiltIDs, ","),
		"added", strings.Join(sum.Added, ","), "removed", strings.Join(sum.Removed, ","),
		"changed", strings.Join(sum.Changed, ","), "unchanged", strings.Join(sum.Unchanged, ","),
		"leases_revoked", sum.Revoked, "leases_shortened", sum.Shortened)
	d.Publish(api.Event{Type: api.EventReload, Detail: map[string]any{
		"added": sum.Added, "removed": sum.Removed, "changed": sum.Changed,
		"leases_revoked": sum.Revoked, "leases_shortened": sum.Shortened, "restart_needed": sum.RestartNeeded,
	}})
	for _, what := range sum.RestartNeeded {
		d.log.Warn("setting changed; it applies after a restart (systemctl restart awf-brokerd)", "setting", what)
	}
	return sum, nil
}

// activeLeases returns the active leases as the plan sees them.
func (d *Daemon) activeLeases() []reload.Lease {
	var out []reload.Lease
	for _, l := range d.leases.Snapshot() {
		out = append(out, reload.Lease{ID: l.ID, Credential: l.Credential, Holder: l.Holder.Cred,
			Hosts: l.Scope.Hosts, CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt()})
	}
	return out
}

// endLeases revokes and shortens the leases plan says, counting them in
// sum, with an audit line saying why.
func (d *Daemon) endLeases(plan reload.Result, sum *ReloadSummary) {
	for _, r := range plan.Revoke {
		if l, err := d.leases.Revoke(r.Lease, reasonReload); err == nil && l != nil {
			sum.Revoked++
			d.log.Info("lease revoked by reload", "lease", r.Lease, "credential", r.Credential, "why", r.Why)
		}
	}
	for _, s := range plan.Shorten {
		if d.leases.Shorten(s.Lease, s.Until, reasonReload) {
			sum.Shortened++
			d.log.Info("lease shortened by reload", "lease", s.Lease, "credential", s.Credential, "why", s.Why)
		}
	}
}
