package peer

import (
	"os"
	"regexp"
	"strconv"
	"strings"
)

// containerRE finds a 64-hex container id in a cgroup path as docker,
// containerd (cri-containerd-<id>.scope), podman (libpod-<id>.scope) and
// kubepods lay them out.
var containerRE = regexp.MustCompile(`(?:docker|cri-containerd|crio|libpod|containerd)[-/]([0-9a-f]{64})(?:\.scope)?|kubepods[^\n]*/([0-9a-f]{64})`)

// ContainerID returns the id of the container pid runs in, or "".
func ContainerID(pid int32) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/cgroup")
	if err != nil {
		return ""
	}
	return parseContainerID(string(b))
}

func parseContainerID(cgroup string) string {
	for _, line := range strings.Split(cgroup, "\n") {
		if m := containerRE.FindStringSubmatch(line); m != nil {
			if m[1] != "" {
				return m[1]
			}
			return m[2]
		}
	}
	return ""
}
