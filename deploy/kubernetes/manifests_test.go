package kubernetes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/awf-broker/awf-broker/internal/procs"
)

// built holds awf-brokerd and awf-broker-cli, built on first use;
// TestMain removes them.
var built procs.Cached

func TestMain(m *testing.M) {
	code := m.Run()
	built.Remove()
	os.Exit(code)
}

// TestManifestsKeepTheirInvariants decodes every manifest strictly and
// checks each invariant of the fleet on them.
func TestManifestsKeepTheirInvariants(t *testing.T) {
	m, err := load(".")
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	for _, inv := range invariants {
		if err := inv.check(m, built.Must(t)); err != nil {
			t.Errorf("invariant %q: %v", inv.name, err)
		}
	}
}

// TestStrictDecoding: a misspelt field or a kind the fleet does not use
// is an error naming it, not a silently dropped setting.
func TestStrictDecoding(t *testing.T) {
	cases := []struct {
		name, file, from, to, want string
	}{
		{"a misspelt DaemonSet field", "daemonset.yaml", "      hostPID: false", "      hostPid: false", `unknown field "spec.template.spec.hostPid"`},
		{"a misspelt probe field", "daemonset.yaml", "            periodSeconds: 10", "            periodSecond: 10", `unknown field "spec.template.spec.containers[0].readinessProbe.periodSecond"`},
		{"a misspelt values key", valuesFile, "maxRunners: 10", "maxRunner: 10", `unknown field "maxRunner"`},
		{"a misspelt pod template field", valuesFile, "    nodeSelector:", "    nodeselector:", `unknown field "template.spec.nodeselector"`},
		{"a kind the fleet does not use", "service-metrics.yaml", "kind: Service", "kind: Ingress", `kind "Ingress" of "v1": not one the fleet uses`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyManifests(t)
			edit(t, filepath.Join(dir, c.file), c.from, c.to)
			_, err := load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
				t.Fatalf("load: %v; want an error in %s naming %s", err, c.file, c.want)
			}
		})
	}
}

// TestInvariantsCatchBreakage breaks each invariant on purpose: the check
// of that invariant must fail, with its name. Every invariant needs a row.
func TestInvariantsCatchBreakage(t *testing.T) {
	cases := []struct {
		invariant string
		breakIt   func(m *manifests)
	}{
		{"only the broker's container has the config Secret", func(m *manifests) {
			spec := &m.daemonSets[brokerDaemonSet].Spec.Template.Spec
			spec.InitContainers[0].VolumeMounts = append(spec.InitContainers[0].VolumeMounts, corev1.VolumeMount{Name: "config", MountPath: "/etc/awf-broker"})
		}},
		{"only the broker's container has the config Secret", func(m *manifests) {
			c := mustContainer(&m.runner.Template.Spec, sidecarName)
			c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: configSecret}}})
		}},
		{"the agent container mounts no socket", func(m *manifests) {
			c := mustContainer(&m.runner.Template.Spec, agentName)
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "awf-broker-socket", MountPath: "/awf-broker"})
		}},
		{"the socket directory mode", func(m *manifests) {
			c := mustContainer(&m.daemonSets[brokerDaemonSet].Spec.Template.Spec, "socket-dir")
			c.Command[2] = strings.Replace(c.Command[2], "chmod 0750", "chmod 0755", 1)
		}},
		{"the socket directory mode", func(m *manifests) {
			m.runner.Template.Spec.SecurityContext.SupplementalGroups = nil
		}},
		{"probes present", func(m *manifests) {
			mustContainer(&m.daemonSets[brokerDaemonSet].Spec.Template.Spec, brokerContainer).ReadinessProbe = nil
		}},
		{"probes present", func(m *manifests) {
			c := mustContainer(&m.daemonSets[brokerDaemonSet].Spec.Template.Spec, brokerContainer)
			c.LivenessProbe.Exec.Command = append(c.LivenessProbe.Exec.Command, "--no-such-flag")
		}},
		{"probes present", func(m *manifests) {
			c := mustContainer(&m.daemonSets[brokerDaemonSet].Spec.Template.Spec, brokerContainer)
			c.ReadinessProbe.Exec.Command = append(c.ReadinessProbe.Exec.Command, "extra-arg")
		}},
		{"the sidecar runs a valid awf-broker-cli sidecar command", func(m *manifests) {
			c := mustContainer(&m.runner.Template.Spec, sidecarName)
			c.Args = append(c.Args, "extra-arg")
		}},
		{"the sidecar runs a valid awf-broker-cli sidecar command", func(m *manifests) {
			c := mustContainer(&m.runner.Template.Spec, sidecarName)
			c.Args = append(c.Args, "--credential", "garbage")
		}},
		{"the sidecar runs a valid awf-broker-cli sidecar command", func(m *manifests) {
			c := mustContainer(&m.runner.Template.Spec, sidecarName)
			c.Args = append(c.Args, "--no-such-flag")
		}},
		{"resource requests set", func(m *manifests) {
			delete(mustContainer(&m.runner.Template.Spec, agentName).Resources.Requests, corev1.ResourceCPU)
		}},
		{"the config passes --check-config", func(m *manifests) {
			s := m.secrets[configSecret][0]
			s.StringData[configKey] = strings.Replace(s.StringData[configKey], `lease_ttl          = "15m"`, `lease_ttl          = "forever"`, 1)
		}},
		{"the hooks are installed through env", func(m *manifests) {
			m.configMaps[hooksMap].Data["job-started.sh"] += "echo changed\n"
		}},
		{"the hooks are installed through env", func(m *manifests) {
			c := mustContainer(&m.runner.Template.Spec, runnerName)
			for i := range c.Env {
				if c.Env[i].Name == "ACTIONS_RUNNER_HOOK_JOB_COMPLETED" {
					c.Env[i].Value = "/opt/elsewhere/job-completed.sh"
				}
			}
		}},
		{"uids match the config", func(m *manifests) {
			uid := int64(1002)
			mustContainer(&m.runner.Template.Spec, runnerName).SecurityContext.RunAsUser = &uid
		}},
		{"the metrics are scraped", func(m *manifests) {
			m.services[metricsSvc].Annotations["prometheus.io/port"] = "9090"
		}},
		{"the metrics are scraped", func(m *manifests) {
			m.services[metricsSvc].Spec.Ports[0].TargetPort = intstr.FromString("http")
		}},
		{"the kubernetes identity reads a projected service-account token", func(m *manifests) {
			spec := &m.daemonSets[brokerDaemonSet].Spec.Template.Spec
			for _, v := range spec.Volumes {
				if v.Projected != nil {
					v.Projected.Sources[0].ServiceAccountToken.Audience = "https://kubernetes.default.svc"
				}
			}
		}},
		{"one runner pod per node, on a broker's node", func(m *manifests) {
			m.runner.Template.Spec.Affinity = nil
		}},
		{"one runner pod per node, on a broker's node", func(m *manifests) {
			m.runner.Template.Spec.NodeSelector = nil
		}},
	}
	byName := map[string]invariant{}
	for _, inv := range invariants {
		byName[inv.name] = inv
	}
	broken := map[string]bool{}
	for _, c := range cases {
		broken[c.invariant] = true
	}
	for _, inv := range invariants {
		if !broken[inv.name] {
			t.Errorf("invariant %q has no row that breaks it", inv.name)
		}
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d %s", i, c.invariant), func(t *testing.T) {
			inv, ok := byName[c.invariant]
			if !ok {
				t.Fatalf("no invariant %q", c.invariant)
			}
			m, err := load(".")
			if err != nil {
				t.Fatal(err)
			}
			c.breakIt(m)
			if err := inv.check(m, built.Must(t)); err == nil {
				t.Fatalf("invariant %q still holds after breaking it", c.invariant)
			} else {
				t.Logf("invariant %q: %v", c.invariant, err)
			}
		})
	}
}

func mustContainer(spec *corev1.PodSpec, name string) *corev1.Container {
	c, err := container(spec, name)
	if err != nil {
		panic(err)
	}
	return c
}

func copyManifests(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func edit(t *testing.T, path, from, to string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), from) {
		t.Fatalf("%s has no %q", path, from)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), from, to, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}
