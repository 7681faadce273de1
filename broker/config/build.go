package config

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// draft is a configuration before validation, with where each value came
// from, so that validation can point at the line or variable.
type draft struct {
	cfg Config
	// pos maps "credential/NAME/field" (or "identity/NAME", "socket/mode", …)
	// to where it was set; a block's own key is its position.
	pos map[string]Pos
	// failed marks "where/field" values already reported as unparsable.
	failed map[string]bool
	e      errs
}

func newDraft(source string) *draft {
	return &draft{cfg: Config{Source: source}, pos: map[string]Pos{}, failed: map[string]bool{}}
}

// at returns the position of key, falling back to its block's.
func (d *draft) at(block, field string) Pos {
	if p, ok := d.pos[block+"/"+field]; ok {
		return p
	}
	return d.pos[block]
}

func (d *draft) add(block, where, field, format string, args ...any) {
	d.e.add(d.at(block, field), where, field, format, args...)
}

func credKey(name string) string  { return "credential/" + name }
func identKey(name string) string { return "identity/" + name }

// build turns the decoded file into a validated Config.
func build(root *node, file string) (*Config, error) {
	d := newDraft(file)
	if v := root.attrs["wait_for_token"]; v != nil {
		d.pos["wait_for_token"] = v.pos
		d.cfg.WaitForToken = d.duration(v, "", "wait_for_token")
	}
	if n := first(root, "socket"); n != nil {
		d.pos["socket"] = n.pos
		d.cfg.Socket.Path, d.cfg.Socket.Group = str(n, "path"), str(n, "group")
		if v := n.attrs["mode"]; v != nil {
			d.pos["socket/mode"] = v.pos
			d.cfg.Socket.Mode = d.mode(v, "socket", "mode")
		}
	}
	if n := first(root, "log"); n != nil {
		d.pos["log"] = n.pos
		d.cfg.Log.Level, d.cfg.Log.Format = str(n, "level"), str(n, "format")
		setPos(d, "log", n)
	}
	if n := first(root, "admin"); n != nil {
		d.cfg.Admin = Admin{UIDs: uints(n, "uids"), GIDs: uints(n, "gids")}
	}
	if n := first(root, "limits"); n != nil {
		for _, f := range limitFields {
			*f.field(&d.cfg.Limits) = count(n, f.name)
		}
	}
	if n := first(root, "metrics"); n != nil {
		d.pos["metrics"] = n.pos
		d.cfg.Metrics.Listen = str(n, "listen")
		if v := n.attrs["allow_remote"]; v != nil {
			d.cfg.Metrics.AllowRemote = v.b
		}
		setPos(d, "metrics", n)
	}
	for _, n := range root.children["identity"] {
		key := identKey(n.label)
		d.pos[key] = n.pos
		setPos(d, key, n)
		id := Identity{Name: n.label, Type: str(n, "type"), Path: str(n, "path"), AllowedRequestHosts: strs(n, "allowed_request_hosts")}
		if a := first(n, "allow"); a != nil {
			id.Allow = Allow{UIDs: uints(a, "uids"), GIDs: uints(a, "gids")}
		}
		d.cfg.Identities = append(d.cfg.Identities, id)
	}
	for _, n := range root.children["credential"] {
		key := credKey(n.label)
		d.pos[key] = n.pos
		setPos(d, key, n)
		d.cfg.Credentials = append(d.cfg.Credentials, d.credential(n))
	}
	return d.finish()
}

// credential reads a credential block through the field tables.
func (d *draft) credential(n *node) Credential {
	c := Credential{Name: n.label, Hosts: strs(n, "hosts")}
	for name, v := range n.attrs {
		if f, ok := stringFields[name]; ok {
			*f(&c) = v.s
		}
		if f, ok := durationFields[name]; ok {
			*f(&c) = d.duration(v, fmt.Sprintf("credential %q", n.label), name)
		}
	}
	if a := first(n, "allow"); a != nil {
		c.Allow = Allow{UIDs: uints(a, "uids"), GIDs: uints(a, "gids")}
	}
	return c
}

// finish validates the draft, applies defaults, checks the targets (the
// defaults' too) and returns the Config, or every problem at once.
func (d *draft) finish() (*Config, error) {
	d.validate()
	d.defaults()
	d.checkTargets()
	if err := d.e.err(); err != nil {
		return nil, err
	}
	return &d.cfg, nil
}

func setPos(d *draft, key string, n *node) {
	for name, v := range n.attrs {
		d.pos[key+"/"+name] = v.pos
	}
}

func (d *draft) duration(v *value, where, field string) time.Duration {
	dur, err := time.ParseDuration(v.s)
	if err != nil {
		d.e.add(v.pos, where, field, "invalid duration %q (want e.g. \"15m\")", v.s)
		d.failed[where+"/"+field] = true
		return 0
	}
	return dur
}

func (d *draft) mode(v *value, where, field string) os.FileMode {
	m, err := strconv.ParseUint(v.s, 8, 32)
	if err != nil || len(v.s) < 3 || m > 0o777 {
		d.e.add(v.pos, where, field, "invalid mode %q (want an octal string like \"0660\")", v.s)
		return 0
	}
	return os.FileMode(m)
}

func first(n *node, typ string) *node {
	if c := n.children[typ]; len(c) > 0 {
		return c[0]
	}
	return nil
}

func str(n *node, name string) string {
	if v := n.attrs[name]; v != nil {
		return v.s
	}
	return ""
}

func strs(n *node, name string) []string {
	if v := n.attrs[name]; v != nil {
		return v.ss
	}
	return nil
}

func uints(n *node, name string) []uint32 {
	if v := n.attrs[name]; v != nil {
		return v.us
	}
	return nil
}

func count(n *node, name string) int {
	if v := n.attrs[name]; v != nil {
		return v.n
	}
	return 0
}
