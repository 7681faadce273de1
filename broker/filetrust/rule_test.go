package filetrust

import (
	"io/fs"
	"testing"
)

// TestCheck is the file-trust rule as a table: each row a file's owner,
// mode and size, and the exact verdict for a secret and for the config,
// for a daemon running as uid 1000.
func TestCheck(t *testing.T) {
	secret := Rule{What: "value_file", Owners: []uint32{0, 1000}, Forbid: 0o026, MaxSize: MaxSecretSize}
	config := Rule{What: "config file", Owners: []uint32{0, 1000}, Forbid: 0o022, MaxSize: MaxConfigSize}
	const p = "/etc/awf-broker/k"
	cases := []struct {
		name               string
		st                 Stat
		wantSecret, wantCf string // "" when trusted
	}{
		{"root 0600", Stat{UID: 0, Mode: 0o600, Size: 10}, "", ""},
		{"daemon uid 0640", Stat{UID: 1000, Mode: 0o640, Size: 10}, "", ""},
		{"root 0400", Stat{UID: 0, Mode: 0o400}, "", ""},
		{"root 0644 (a world-readable key)", Stat{UID: 0, Mode: 0o644, Size: 10},
			"value_file /etc/awf-broker/k (owner uid 0, mode 0644): readable by others; chmod o-r /etc/awf-broker/k", ""},
		{"root 0666", Stat{UID: 0, Mode: 0o666},
			"value_file /etc/awf-broker/k (owner uid 0, mode 0666): group-writable, readable and writable by others; chmod g-w,o-rw /etc/awf-broker/k",
			"config file /etc/awf-broker/k (owner uid 0, mode 0666): group-writable, writable by others; chmod g-w,o-w /etc/awf-broker/k"},
		{"root 0602", Stat{UID: 0, Mode: 0o602},
			"value_file /etc/awf-broker/k (owner uid 0, mode 0602): writable by others; chmod o-w /etc/awf-broker/k",
			"config file /etc/awf-broker/k (owner uid 0, mode 0602): writable by others; chmod o-w /etc/awf-broker/k"},
		{"root 0620", Stat{UID: 0, Mode: 0o620},
			"value_file /etc/awf-broker/k (owner uid 0, mode 0620): group-writable; chmod g-w /etc/awf-broker/k",
			"config file /etc/awf-broker/k (owner uid 0, mode 0620): group-writable; chmod g-w /etc/awf-broker/k"},
		{"another user's 0600", Stat{UID: 1001, Mode: 0o600},
			"value_file /etc/awf-broker/k (owner uid 1001, mode 0600): owned by uid 1001, not by root or the daemon's uid 1000; chown it",
			"config file /etc/awf-broker/k (owner uid 1001, mode 0600): owned by uid 1001, not by root or the daemon's uid 1000; chown it"},
		{"another user's 0644", Stat{UID: 1001, Mode: 0o644},
			"value_file /etc/awf-broker/k (owner uid 1001, mode 0644): owned by uid 1001, not by root or the daemon's uid 1000; chown it; readable by others; chmod o-r /etc/awf-broker/k",
			"config file /etc/awf-broker/k (owner uid 1001, mode 0644): owned by uid 1001, not by root or the daemon's uid 1000; chown it"},
		{"a FIFO", Stat{UID: 0, Mode: fs.ModeNamedPipe | 0o600},
			"value_file /etc/awf-broker/k (owner uid 0, mode 0600): not a regular file",
			"config file /etc/awf-broker/k (owner uid 0, mode 0600): not a regular file"},
		{"a directory", Stat{UID: 0, Mode: fs.ModeDir | 0o700},
			"value_file /etc/awf-broker/k (owner uid 0, mode 0700): not a regular file",
			"config file /etc/awf-broker/k (owner uid 0, mode 0700): not a regular file"},
		{"a secret over the cap", Stat{UID: 0, Mode: 0o600, Size: MaxSecretSize + 1},
			"value_file /etc/awf-broker/k (owner uid 0, mode 0600): 65537 bytes, more than the 65536 allowed", ""},
		{"a config over the cap", Stat{UID: 0, Mode: 0o600, Size: MaxConfigSize + 1},
			"value_file /etc/awf-broker/k (owner uid 0, mode 0600): 1048577 bytes, more than the 65536 allowed",
			"config file /etc/awf-broker/k (owner uid 0, mode 0600): 1048577 bytes, more than the 1048576 allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []struct {
				rule Rule
				want string
			}{{secret, c.wantSecret}, {config, c.wantCf}} {
				got := ""
				if err := r.rule.Check(p, c.st); err != nil {
					got = err.Error()
				}
				if got != r.want {
					t.Errorf("%s:\n got %q\nwant %q", r.rule.What, got, r.want)
				}
			}
		})
	}
}

func TestOwnersAreRootAndSelf(t *testing.T) {
	r := Secret("x")
	if r.Owners[0] != 0 {
		t.Fatalf("owners %v do not start with root", r.Owners)
	}
	if c := Config(); c.Forbid != 0o022 || c.MaxSize != MaxConfigSize {
		t.Errorf("config rule = %+v", c)
	}
}
