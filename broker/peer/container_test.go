package peer

import (
	"os"
	"strings"
	"testing"
)

func TestParseContainerID(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	inner := strings.Repeat("fedcba9876543210", 4)
	cases := []struct {
		name, cgroup, want string
	}{
		{"docker v1", "12:pids:/docker/" + id + "\n11:memory:/docker/" + id + "\n", id},
		{"docker v2 systemd", "0::/system.slice/docker-" + id + ".scope\n", id},
		{"containerd cri v2", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/cri-containerd-" + id + ".scope\n", id},
		{"cri-o", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9.slice/crio-" + id + ".scope\n", id},
		{"podman rootless", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id + ".scope\n", id},
		{"podman nested", "0::/machine.slice/libpod-" + id + ".scope/container\n", id},
		{"kubepods v1 cgroupfs", "11:cpuset:/kubepods/burstable/pod1234-5678/" + id + "\n", id},
		{"kubepods v2 cgroupfs", "0::/kubepods/besteffort/pod1234/" + id + "\n", id},
		{"docker in docker: innermost", "0::/docker/" + id + "/docker/" + inner + "\n", inner},
		{"v1 line before v2 line", "1:name=systemd:/user.slice\n0::/system.slice/docker-" + id + ".scope\n", id},
		{"podman conmon is not the container", "0::/machine.slice/libpod-conmon-" + id + ".scope\n", ""},
		{"host session", "0::/user.slice/user-1000.slice/session-2.scope\n", ""},
		{"host service", "0::/system.slice/awf-brokerd.service\n", ""},
		{"hex but no runtime", "0::/system.slice/" + id + "\n", ""},
		{"short id", "12:pids:/docker/abc123\n", ""},
		{"upper-case hex", "12:pids:/docker/" + strings.ToUpper(id) + "\n", ""},
		{"garbage", "not a cgroup file", ""},
		{"empty", "", ""},
	}
	for _, c := range cases {
		if got := parseContainerID(c.cgroup); got != c.want {
			t.Errorf("%s: parseContainerID = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestContainerIDSelf(t *testing.T) {
	// Whatever this test runs in, the call must not fail or invent an id.
	got := ContainerID(int32(os.Getpid()))
	if got != "" && !isHexID(got) {
		t.Errorf("ContainerID(self) = %q", got)
	}
	if ContainerID(0) != "" || ContainerID(-1) != "" {
		t.Error("ContainerID of an invalid pid is not empty")
	}
}

// TestContainerIDSamples parses whole /proc/<pid>/cgroup files as the
// runtimes write them (testdata/cgroup). Every sample must be listed.
func TestContainerIDSamples(t *testing.T) {
	const (
		docker = "4f1c8a7e2b9d0c3f5e6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0"
		cri    = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"
		podman = "1e2d3c4b5a69788796a5b4c3d2e1f0011e2d3c4b5a69788796a5b4c3d2e1f001"
	)
	want := map[string]string{
		"docker-v1.cgroup":                 docker, // cgroupfs driver, hybrid v1 + v2 line
		"docker-v1-systemd.cgroup":         docker,
		"docker-v2-systemd.cgroup":         docker,
		"docker-v2-cgroupfs.cgroup":        docker,
		"cri-containerd-v1-systemd.cgroup": cri,
		"cri-containerd-v2-systemd.cgroup": cri,
		"kubepods-v1-cgroupfs.cgroup":      cri,
		"kubepods-v2-cgroupfs.cgroup":      cri,
		"kubepods-v2-crio.cgroup":          cri,
		"kubepods-v2-kind.cgroup":          cri, // kind/k3d: kubelet.slice nesting
		"containerd-v2-nerdctl.cgroup":     cri,
		"podman-v1.cgroup":                 podman,
		"podman-v2-rootful.cgroup":         podman,
		"podman-v2-rootless.cgroup":        podman,
		"podman-conmon.cgroup":             "", // the monitor, not the container
		"host-v1-service.cgroup":           "",
		"host-v2-session.cgroup":           "",
		// Plain `ctr run` puts a task at /<namespace>/<id>, which looks like
		// any hex-named cgroup: not recognised, on purpose.
		"containerd-v1-default.cgroup": "",
	}
	files, err := os.ReadDir("testdata/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("%d sample files, %d expectations: list every sample", len(files), len(want))
	}
	for _, f := range files {
		id, ok := want[f.Name()]
		if !ok {
			t.Errorf("%s: no expectation", f.Name())
			continue
		}
		b, err := os.ReadFile("testdata/cgroup/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if got := parseContainerID(string(b)); got != id {
			t.Errorf("%s: parseContainerID = %q, want %q", f.Name(), got, id)
		}
	}
}
