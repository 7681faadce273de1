package devenv

import "github.com/awf-broker/awf-broker/broker/config"

// HCL returns a config file equivalent to d.Config for a daemon run as a
// separate process (awf-brokerd --config) against the fakes of d; that
// process needs d.Env in its environment. config.Write renders it, so
// every field Start sets is in it.
func (d *Dev) HCL() string { return string(config.Write(d.Config)) }

// Environ returns d.Env as KEY=VALUE lines for a child process.
func (d *Dev) Environ() []string {
	out := make([]string, 0, len(d.Env))
	for k, v := range d.Env {
		out = append(out, k+"="+v)
	}
	return out
}
