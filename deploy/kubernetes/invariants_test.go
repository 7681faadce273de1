package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/internal/procs"
)

// Names the manifests and the invariants share.
const (
	brokerDaemonSet = "awf-brokerd"
	brokerContainer = "awf-brokerd"
	configSecret    = "awf-broker-config"
	configKey       = "config.hcl"
	sidecarName     = "awf-sidecar"
	runnerName      = "runner"
	// agentName is the runner pod's container the agent's containers run in.
	agentName     = "dind"
	hooksMap      = "awf-broker-runner-hooks"
	metricsSvc    = "awf-brokerd-metrics"
	socketGroup   = "2000"
	socketGID     = 2000
	socketMode    = 0o660
	socketDirMode = "0750"
)

// invariant is one rule the fleet's manifests keep; check names it in
// every failure.
type invariant struct {
	name  string
	check func(m *manifests, bins procs.Bins) error
}

var invariants = []invariant{
	{"only the broker's container has the config Secret", onlyBrokerHasConfig},
	{"the agent container mounts no socket", agentMountsNoSocket},
	{"the socket directory mode", socketDirectoryMode},
	{"probes present", probesPresent},
	{"the sidecar runs a valid awf-broker-cli sidecar command", sidecarCommandValid},
	{"resource requests set", resourceRequestsSet},
	{"the config passes --check-config", configPassesCheck},
	{"the hooks are installed through env", hooksThroughEnv},
	{"uids match the config", uidsMatchConfig},
	{"the metrics are scraped", metricsScraped},
	{"the kubernetes identity reads a projected service-account token", projectedTokenIdentity},
	{"one runner pod per node, on a broker's node", oneRunnerPerNode},
}

// pods returns every pod spec of the manifests, named.
func (m *manifests) pods() map[string]*corev1.PodSpec {
	out := map[string]*corev1.PodSpec{"the runner pod": &m.runner.Template.Spec}
	for name, ds := range m.daemonSets {
		out["daemonset "+name] = &ds.Spec.Template.Spec
	}
	return out
}

func containers(spec *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range spec.InitContainers {
		out = append(out, &spec.InitContainers[i])
	}
	for i := range spec.Containers {
		out = append(out, &spec.Containers[i])
	}
	return out
}

func container(spec *corev1.PodSpec, name string) (*corev1.Container, error) {
	for _, c := range containers(spec) {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("no container %q", name)
}

func (m *manifests) broker() (*corev1.PodSpec, *corev1.Container, error) {
	ds, ok := m.daemonSets[brokerDaemonSet]
	if !ok {
		return nil, nil, fmt.Errorf("no DaemonSet %q", brokerDaemonSet)
	}
	c, err := container(&ds.Spec.Template.Spec, brokerContainer)
	return &ds.Spec.Template.Spec, c, err
}

// mountsOf returns the container's mounts of the volumes keep selects.
func mountsOf(spec *corev1.PodSpec, c *corev1.Container, keep func(corev1.Volume) bool) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, vm := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == vm.Name && keep(v) {
				out = append(out, vm)
			}
		}
	}
	return out
}

// configs parses every config Secret's HCL.
func (m *manifests) configs() (map[string]*config.Config, error) {
	out := map[string]*config.Config{}
	for _, s := range m.secrets[configSecret] {
		src, ok := s.StringData[configKey]
		if !ok {
			return nil, fmt.Errorf("secret %s in %s has no %s", s.Name, m.secretFiles[s], configKey)
		}
		cfg, err := config.Parse([]byte(src), m.secretFiles[s])
		if err != nil {
			return nil, err
		}
		out[m.secretFiles[s]] = cfg
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no secret %q", configSecret)
	}
	return out, nil
}

func onlyBrokerHasConfig(m *manifests, _ procs.Bins) error {
	isConfig := func(v corev1.Volume) bool {
		if v.Secret != nil && v.Secret.SecretName == configSecret {
			return true
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil && s.Secret.Name == configSecret {
					return true
				}
			}
		}
		return false
	}
	brokerMounts := 0
	for pod, spec := range m.pods() {
		for _, c := range containers(spec) {
			n := len(mountsOf(spec, c, isConfig))
			if pod == "daemonset "+brokerDaemonSet && c.Name == brokerContainer {
				brokerMounts += n
			} else if n > 0 {
				return fmt.Errorf("%s: container %q mounts the config Secret", pod, c.Name)
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == configSecret {
					return fmt.Errorf("%s: container %q reads the config Secret into $%s", pod, c.Name, e.Name)
				}
			}
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil && e.SecretRef.Name == configSecret {
					return fmt.Errorf("%s: container %q reads the config Secret into its environment", pod, c.Name)
				}
			}
		}
	}
	if brokerMounts != 1 {
		return fmt.Errorf("the broker's container mounts the config Secret %d times, want once", brokerMounts)
	}
	return nil
}

// brokerSocketDir is the hostPath directory of the broker's socket.
func (m *manifests) brokerSocketDir() (string, error) {
	spec, c, err := m.broker()
	if err != nil {
		return "", err
	}
	var dirs []string
	for _, vm := range mountsOf(spec, c, func(v corev1.Volume) bool { return v.HostPath != nil }) {
		for _, v := range spec.Volumes {
			if v.Name == vm.Name {
				dirs = append(dirs, v.HostPath.Path)
			}
		}
	}
	if len(dirs) != 1 {
		return "", fmt.Errorf("the broker's container mounts %d hostPath directories, want 1 (the socket's)", len(dirs))
	}
	return dirs[0], nil
}

func isSocketDir(dir string) func(corev1.Volume) bool {
	return func(v corev1.Volume) bool {
		if v.HostPath == nil {
			return false
		}
		p := filepath.Clean(v.HostPath.Path)
		return p == dir || strings.HasPrefix(dir, p+"/") || strings.HasPrefix(p, dir+"/")
	}
}

func agentMountsNoSocket(m *manifests, _ procs.Bins) error {
	dir, err := m.brokerSocketDir()
	if err != nil {
		return err
	}
	spec := &m.runner.Template.Spec
	if _, err := container(spec, agentName); err != nil {
		return err
	}
	sidecarMounts := false
	for _, c := range containers(spec) {
		if len(mountsOf(spec, c, isSocketDir(dir))) == 0 {
			continue
		}
		switch c.Name {
		case sidecarName:
			sidecarMounts = true
		case runnerName:
		default:
			return fmt.Errorf("the runner pod's container %q mounts the broker's socket directory %s", c.Name, dir)
		}
	}
	if !sidecarMounts {
		return fmt.Errorf("the sidecar does not mount the broker's socket directory %s", dir)
	}
	return nil
}

func socketDirectoryMode(m *manifests, _ procs.Bins) error {
	dir, err := m.brokerSocketDir()
	if err != nil {
		return err
	}
	cfgs, err := m.configs()
	if err != nil {
		return err
	}
	for file, cfg := range cfgs {
		if cfg.Socket.Mode != socketMode || cfg.Socket.Group != socketGroup {
			return fmt.Errorf("%s: socket mode %#o group %q, want %#o group %q", file, cfg.Socket.Mode, cfg.Socket.Group, socketMode, socketGroup)
		}
		if filepath.Dir(cfg.Socket.Path) != dir {
			return fmt.Errorf("%s: socket %s is not in the hostPath directory %s", file, cfg.Socket.Path, dir)
		}
	}
	spec, _, _ := m.broker()
	init, err := container(spec, "socket-dir")
	if err != nil {
		return err
	}
	cmd := strings.Join(init.Command, " ")
	for _, want := range []string{"chown 0:" + socketGroup + " " + dir, "chmod " + socketDirMode + " " + dir} {
		if !strings.Contains(cmd, want) {
			return fmt.Errorf("the socket-dir init container does not run %q (it runs %q)", want, cmd)
		}
	}
	for pod, spec := range m.pods() {
		if spec.SecurityContext == nil || !slices.Contains(spec.SecurityContext.SupplementalGroups, int64(socketGID)) {
			return fmt.Errorf("%s: supplementalGroups lack the socket's group %d", pod, socketGID)
		}
	}
	rs := &m.runner.Template.Spec
	for _, c := range containers(rs) {
		for _, vm := range mountsOf(rs, c, isSocketDir(dir)) {
			if !vm.ReadOnly {
				return fmt.Errorf("the runner pod's container %q mounts the socket directory writable", c.Name)
			}
		}
	}
	for _, v := range rs.Volumes {
		if isSocketDir(dir)(v) && (v.HostPath.Path != dir || v.HostPath.Type == nil || *v.HostPath.Type != corev1.HostPathDirectory) {
			return fmt.Errorf("the runner pod's socket volume is hostPath %s, want the existing directory %s", v.HostPath.Path, dir)
		}
	}
	return nil
}

// run runs a built command and returns its combined output.
func run(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func probesPresent(m *manifests, bins procs.Bins) error {
	_, c, err := m.broker()
	if err != nil {
		return err
	}
	probes := []struct {
		what  string
		probe *corev1.Probe
		want  []string
	}{
		{"readinessProbe", c.ReadinessProbe, []string{"probe", "ready"}},
		{"livenessProbe", c.LivenessProbe, []string{"probe", "live"}},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.Exec == nil || len(p.probe.Exec.Command) < 3 {
			return fmt.Errorf("the broker has no exec %s", p.what)
		}
		argv := p.probe.Exec.Command
		if filepath.Base(argv[0]) != "awf-broker-cli" || !slices.Equal(argv[1:3], p.want) {
			return fmt.Errorf("the broker's %s runs %q, want awf-broker-cli %s", p.what, argv, strings.Join(p.want, " "))
		}
		// The CLI must accept the command, its arguments and their values.
		if err := procs.CheckCLI(context.Background(), bins.CLI, argv[1:]...); err != nil {
			return fmt.Errorf("the broker's %s %q is not a valid awf-broker-cli command: %w", p.what, argv, err)
		}
	}
	return nil
}

// sidecarCommandValid: the runner pod's sidecar runs `awf-broker-cli
// sidecar` (the image's entrypoint) with arguments and flag values the CLI
// accepts.
func sidecarCommandValid(m *manifests, bins procs.Bins) error {
	c, err := container(&m.runner.Template.Spec, sidecarName)
	if err != nil {
		return err
	}
	argv := c.Args
	if len(c.Command) > 0 {
		if filepath.Base(c.Command[0]) != "awf-broker-cli" {
			return fmt.Errorf("the sidecar runs %q, want awf-broker-cli", c.Command[0])
		}
		argv = append(slices.Clone(c.Command[1:]), c.Args...)
	}
	if len(argv) == 0 || argv[0] != "sidecar" {
		return fmt.Errorf("the sidecar's arguments %q do not start with the sidecar command", argv)
	}
	// --max-wait last: with no broker the sidecar gives up at once.
	if err := procs.CheckCLI(context.Background(), bins.CLI, append(slices.Clone(argv), "--max-wait", "100ms")...); err != nil {
		return fmt.Errorf("the sidecar's arguments %q are not a valid awf-broker-cli command: %w", argv, err)
	}
	return nil
}

func resourceRequestsSet(m *manifests, _ procs.Bins) error {
	for pod, spec := range m.pods() {
		for _, c := range containers(spec) {
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				q, ok := c.Resources.Requests[r]
				if !ok || q.Cmp(resource.Quantity{}) <= 0 {
					return fmt.Errorf("%s: container %q requests no %s", pod, c.Name, r)
				}
			}
		}
	}
	return nil
}

func configPassesCheck(m *manifests, bins procs.Bins) error {
	dir, err := os.MkdirTemp("", "awf-k8s-config")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if len(m.secrets[configSecret]) == 0 {
		return fmt.Errorf("no secret %q", configSecret)
	}
	for i, s := range m.secrets[configSecret] {
		path := filepath.Join(dir, strconv.Itoa(i)+"-"+m.secretFiles[s]+".hcl")
		if err := os.WriteFile(path, []byte(s.StringData[configKey]), 0o600); err != nil {
			return err
		}
		if out, err := run(bins.Daemon, "--check-config", path); err != nil {
			return fmt.Errorf("%s: awf-brokerd --check-config: %v\n%s", m.secretFiles[s], err, out)
		}
	}
	return nil
}

func envOf(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func hooksThroughEnv(m *manifests, _ procs.Bins) error {
	cm, ok := m.configMaps[hooksMap]
	if !ok {
		return fmt.Errorf("no ConfigMap %q", hooksMap)
	}
	for _, script := range []string{"job-started.sh", "job-completed.sh"} {
		want, err := os.ReadFile(filepath.Join("..", "runner-hooks", script))
		if err != nil {
			return err
		}
		if cm.Data[script] != string(want) {
			return fmt.Errorf("ConfigMap %s's %s differs from deploy/runner-hooks/%s", hooksMap, script, script)
		}
	}
	spec := &m.runner.Template.Spec
	runner, err := container(spec, runnerName)
	if err != nil {
		return err
	}
	hookMounts := mountsOf(spec, runner, func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == hooksMap })
	if len(hookMounts) != 1 {
		return fmt.Errorf("the runner mounts ConfigMap %s %d times, want once", hooksMap, len(hookMounts))
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == hooksMap && (v.ConfigMap.DefaultMode == nil || *v.ConfigMap.DefaultMode&0o111 != 0o111) {
			return errors.New("the hooks are not mounted executable")
		}
	}
	for env, script := range map[string]string{"ACTIONS_RUNNER_HOOK_JOB_STARTED": "job-started.sh", "ACTIONS_RUNNER_HOOK_JOB_COMPLETED": "job-completed.sh"} {
		if got, want := envOf(runner, env), filepath.Join(hookMounts[0].MountPath, script); got != want {
			return fmt.Errorf("the runner's $%s is %q, want %q", env, got, want)
		}
	}
	dir, err := m.brokerSocketDir()
	if err != nil {
		return err
	}
	cfgs, err := m.configs()
	if err != nil {
		return err
	}
	for _, name := range []string{runnerName, sidecarName} {
		c, err := container(spec, name)
		if err != nil {
			return err
		}
		mounts := mountsOf(spec, c, isSocketDir(dir))
		if len(mounts) != 1 {
			return fmt.Errorf("container %q mounts the socket directory %d times, want once", name, len(mounts))
		}
		sock := envOf(c, "AWF_BROKER_SOCKET")
		for file, cfg := range cfgs {
			if want := filepath.Join(mounts[0].MountPath, filepath.Base(cfg.Socket.Path)); sock != want {
				return fmt.Errorf("container %q's $AWF_BROKER_SOCKET is %q, want %q (%s)", name, sock, want, file)
			}
		}
	}
	return nil
}

func runAsUser(spec *corev1.PodSpec, name string) (uint32, error) {
	c, err := container(spec, name)
	if err != nil {
		return 0, err
	}
	if c.SecurityContext == nil || c.SecurityContext.RunAsUser == nil {
		return 0, fmt.Errorf("container %q sets no runAsUser", name)
	}
	return uint32(*c.SecurityContext.RunAsUser), nil
}

func uidsMatchConfig(m *manifests, _ procs.Bins) error {
	spec := &m.runner.Template.Spec
	runner, err := runAsUser(spec, runnerName)
	if err != nil {
		return err
	}
	sidecar, err := runAsUser(spec, sidecarName)
	if err != nil {
		return err
	}
	cfgs, err := m.configs()
	if err != nil {
		return err
	}
	for file, cfg := range cfgs {
		for _, id := range cfg.Identities {
			if id.Type == "github-actions" && !slices.Contains(id.Allow.UIDs, runner) {
				return fmt.Errorf("%s: the runner's uid %d may not register identity %q (its job hooks would fail)", file, runner, id.Name)
			}
		}
		for _, cr := range cfg.Credentials {
			if slices.Contains(cr.Allow.UIDs, runner) {
				return fmt.Errorf("%s: the runner's uid %d may lease %q: a job step could take the credential", file, runner, cr.Name)
			}
			if !slices.Contains(cr.Allow.UIDs, sidecar) {
				return fmt.Errorf("%s: the sidecar's uid %d may not lease %q", file, sidecar, cr.Name)
			}
		}
	}
	return nil
}

func metricsScraped(m *manifests, _ procs.Bins) error {
	svc, ok := m.services[metricsSvc]
	if !ok {
		return fmt.Errorf("no Service %q", metricsSvc)
	}
	ds := m.daemonSets[brokerDaemonSet]
	_, c, err := m.broker()
	if err != nil {
		return err
	}
	for k, v := range svc.Spec.Selector {
		if ds.Spec.Template.Labels[k] != v {
			return fmt.Errorf("Service %s selects %s=%s, which the broker's pods lack", metricsSvc, k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 {
		return fmt.Errorf("Service %s has %d ports, want 1", metricsSvc, len(svc.Spec.Ports))
	}
	var port int32
	for _, p := range c.Ports {
		if p.Name == svc.Spec.Ports[0].TargetPort.String() {
			port = p.ContainerPort
		}
	}
	if port == 0 {
		return fmt.Errorf("Service %s's targetPort %q is no port of the broker's container", metricsSvc, svc.Spec.Ports[0].TargetPort.String())
	}
	cfgs, err := m.configs()
	if err != nil {
		return err
	}
	for file, cfg := range cfgs {
		_, p, err := net.SplitHostPort(cfg.Metrics.Listen)
		if err != nil || p != strconv.Itoa(int(port)) {
			return fmt.Errorf("%s: metrics.listen %q is not the container's metrics port %d", file, cfg.Metrics.Listen, port)
		}
	}
	a := svc.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(int(port)) || a["prometheus.io/path"] != "/metrics" {
		return fmt.Errorf("Service %s's scrape annotations %v do not name port %d, /metrics", metricsSvc, a, port)
	}
	return nil
}

func projectedTokenIdentity(m *manifests, _ procs.Bins) error {
	spec, c, err := m.broker()
	if err != nil {
		return err
	}
	cfgs, err := m.configs()
	if err != nil {
		return err
	}
	found := false
	for file, cfg := range cfgs {
		for _, id := range cfg.Identities {
			if id.Type != "file" {
				continue
			}
			found = true
			var audiences []string
			for _, cr := range cfg.Credentials {
				if cr.Identity == id.Name {
					audiences = append(audiences, cr.Audience)
				}
			}
			if err := projectedAt(spec, c, id.Path, audiences); err != nil {
				return fmt.Errorf("%s: identity %q: %w", file, id.Name, err)
			}
		}
	}
	if !found {
		return errors.New("no config has a file identity")
	}
	return nil
}

// projectedAt checks that path is a projected service-account token, for
// every one of audiences, mounted into c owner-readable only.
func projectedAt(spec *corev1.PodSpec, c *corev1.Container, path string, audiences []string) error {
	for _, vm := range c.VolumeMounts {
		rel, err := filepath.Rel(vm.MountPath, path)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != vm.Name || v.Projected == nil {
				continue
			}
			if v.Projected.DefaultMode == nil || *v.Projected.DefaultMode&0o037 != 0 {
				return fmt.Errorf("volume %q is readable beyond its owner and group", v.Name)
			}
			for _, s := range v.Projected.Sources {
				if t := s.ServiceAccountToken; t != nil && t.Path == rel {
					for _, aud := range audiences {
						if t.Audience != aud {
							return fmt.Errorf("the projected token's audience is %q, its credential's %q", t.Audience, aud)
						}
					}
					return nil
				}
			}
		}
	}
	return fmt.Errorf("%s is no projected service-account token of the broker's container", path)
}

func oneRunnerPerNode(m *manifests, _ procs.Bins) error {
	spec := &m.runner.Template.Spec
	labels := m.runner.Template.Labels
	ok := false
	if spec.Affinity != nil && spec.Affinity.PodAntiAffinity != nil {
		for _, term := range spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			sel := term.LabelSelector
			if term.TopologyKey != "kubernetes.io/hostname" || sel == nil || len(sel.MatchLabels) == 0 {
				continue
			}
			matches := true
			for k, v := range sel.MatchLabels {
				matches = matches && labels[k] == v
			}
			ok = ok || matches
		}
	}
	if !ok {
		return errors.New("the runner pods have no required anti-affinity on kubernetes.io/hostname against each other")
	}
	ds := m.daemonSets[brokerDaemonSet]
	for k, v := range ds.Spec.Template.Spec.NodeSelector {
		if spec.NodeSelector[k] != v {
			return fmt.Errorf("the runner pods' nodeSelector lacks %s=%s: they could land on a node without a broker", k, v)
		}
	}
	return nil
}
