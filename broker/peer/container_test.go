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
