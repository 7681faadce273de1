package peer

import (
	"os"
	"strconv"
	"strings"
)

// containerIDLen is the length of a docker/containerd/CRI-O/podman id.
const containerIDLen = 64

// ContainerID returns the id of the container process pid runs in, read
// from /proc/<pid>/cgroup, or "" when it runs in none the broker recognises.
func ContainerID(pid int32) string {
	if pid <= 0 {
		return ""
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/cgroup")
	if err != nil {
		return ""
	}
	return parseContainerID(string(b))
}

// parseContainerID finds a container id in the contents of a
// /proc/<pid>/cgroup file (cgroup v1 or v2): docker (/docker/<id>,
// docker-<id>.scope), containerd (cri-containerd-<id>.scope), CRI-O
// (crio-<id>.scope), nerdctl (nerdctl-<id>.scope), podman (libpod-<id>.scope, …/libpod-<id>.scope/container)
// and kubepods (/kubepods/…/<id>) paths. It returns the innermost id on the
// first line that has one, or "".
func parseContainerID(cgroup string) string {
	for line := range strings.Lines(cgroup) {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if id := idFromPath(parts[2]); id != "" {
			return id
		}
	}
	return ""
}

func idFromPath(path string) string {
	if !strings.Contains(path, "docker") && !strings.Contains(path, "kubepods") &&
		!strings.Contains(path, "containerd") && !strings.Contains(path, "libpod") &&
		!strings.Contains(path, "crio") && !strings.Contains(path, "nerdctl") {
		return ""
	}
	segs := strings.Split(path, "/")
	for i := len(segs) - 1; i >= 0; i-- {
		s := strings.TrimSuffix(segs[i], ".scope")
		for _, p := range [...]string{"docker-", "cri-containerd-", "crio-", "libpod-", "nerdctl-"} {
			if rest, ok := strings.CutPrefix(s, p); ok {
				s = rest
				break
			}
		}
		if isHexID(s) {
			return s
		}
	}
	return ""
}

func isHexID(s string) bool {
	if len(s) != containerIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
