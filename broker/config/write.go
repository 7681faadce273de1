package config

import (
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Write renders cfg as an HCL file that Parse reads back to an equal
// Config. It writes every field the file format has, from the same field
// tables Parse uses, so a new credential attribute is written without a
// line here. Source is not written.
func Write(cfg *Config) []byte {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	if cfg.WaitForToken != 0 {
		root.SetAttributeValue("wait_for_token", cty.StringVal(cfg.WaitForToken.String()))
	}
	sock := root.AppendNewBlock("socket", nil).Body()
	setString(sock, "path", cfg.Socket.Path)
	if cfg.Socket.Mode != 0 {
		sock.SetAttributeValue("mode", cty.StringVal(fmt.Sprintf("%04o", uint32(cfg.Socket.Mode.Perm()))))
	}
	setString(sock, "group", cfg.Socket.Group)
	lg := root.AppendNewBlock("log", nil).Body()
	setString(lg, "level", cfg.Log.Level)
	setString(lg, "format", cfg.Log.Format)
	if len(cfg.Admin.UIDs)+len(cfg.Admin.GIDs) > 0 {
		writeIDs(root.AppendNewBlock("admin", nil).Body(), cfg.Admin.UIDs, cfg.Admin.GIDs)
	}
	if cfg.Metrics.Listen != "" {
		m := root.AppendNewBlock("metrics", nil).Body()
		setString(m, "listen", cfg.Metrics.Listen)
		if cfg.Metrics.AllowRemote {
			m.SetAttributeValue("allow_remote", cty.True)
		}
	}
	if l := cfg.Limits; l != (Limits{}) {
		lb := root.AppendNewBlock("limits", nil).Body()
		for _, f := range limitFields {
			if n := *f.field(&l); n != 0 {
				lb.SetAttributeValue(f.name, cty.NumberIntVal(int64(n)))
			}
		}
	}
	for _, id := range cfg.Identities {
		root.AppendNewline()
		b := root.AppendNewBlock("identity", []string{id.Name}).Body()
		setString(b, "type", id.Type)
		setString(b, "path", id.Path)
		setStrings(b, "allowed_request_hosts", id.AllowedRequestHosts)
		writeAllow(b, id.Allow)
	}
	for i := range cfg.Credentials {
		c := &cfg.Credentials[i]
		root.AppendNewline()
		b := root.AppendNewBlock("credential", []string{c.Name}).Body()
		setString(b, "provider", c.Provider)
		setString(b, "identity", c.Identity)
		for _, name := range sortedKeys(stringFields) {
			if name != "provider" && name != "identity" {
				setString(b, name, *stringFields[name](c))
			}
		}
		for _, name := range sortedKeys(durationFields) {
			if d := *durationFields[name](c); d != 0 {
				b.SetAttributeValue(name, cty.StringVal(durationString(d)))
			}
		}
		setStrings(b, "hosts", c.Hosts)
		writeAllow(b, c.Allow)
	}
	return f.Bytes()
}

func setString(b *hclwrite.Body, name, v string) {
	if v != "" {
		b.SetAttributeValue(name, cty.StringVal(v))
	}
}

func setStrings(b *hclwrite.Body, name string, vs []string) {
	if len(vs) == 0 {
		return
	}
	vals := make([]cty.Value, len(vs))
	for i, v := range vs {
		vals[i] = cty.StringVal(v)
	}
	b.SetAttributeValue(name, cty.ListVal(vals))
}

func writeAllow(b *hclwrite.Body, a Allow) {
	if len(a.UIDs)+len(a.GIDs) > 0 {
		writeIDs(b.AppendNewBlock("allow", nil).Body(), a.UIDs, a.GIDs)
	}
}

func writeIDs(b *hclwrite.Body, uids, gids []uint32) {
	for _, l := range []struct {
		name string
		ids  []uint32
	}{{"uids", uids}, {"gids", gids}} {
		if len(l.ids) == 0 {
			continue
		}
		vals := make([]cty.Value, len(l.ids))
		for i, id := range l.ids {
			vals[i] = cty.NumberUIntVal(uint64(id))
		}
		b.SetAttributeValue(l.name, cty.ListVal(vals))
	}
}

// durationString is d as time.ParseDuration reads it back exactly.
func durationString(d time.Duration) string { return d.String() }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
