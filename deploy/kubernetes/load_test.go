// Package kubernetes holds the tests of the Kubernetes manifests beside
// them: every manifest decodes strictly into the typed API objects, and
// the fleet's invariants hold (invariants_test.go).
package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// valuesFile is ARC's runner scale set values, the one manifest that is no
// Kubernetes object.
const valuesFile = "runner-scale-set-values.yaml"

// arcValues is the part of gha-runner-scale-set's values the example sets;
// decoding strictly into it catches a misspelt key.
type arcValues struct {
	GitHubConfigURL    string                 `json:"githubConfigUrl"`
	GitHubConfigSecret string                 `json:"githubConfigSecret"`
	RunnerScaleSetName string                 `json:"runnerScaleSetName"`
	MinRunners         int                    `json:"minRunners"`
	MaxRunners         int                    `json:"maxRunners"`
	Template           corev1.PodTemplateSpec `json:"template"`
}

// manifests is every object of deploy/kubernetes, by kind and name.
type manifests struct {
	daemonSets  map[string]*appsv1.DaemonSet
	secrets     map[string][]*corev1.Secret // one name may have alternatives
	configMaps  map[string]*corev1.ConfigMap
	services    map[string]*corev1.Service
	runner      *arcValues
	secretFiles map[*corev1.Secret]string // which file each secret came from
}

// docSep splits a YAML stream into its documents.
var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// load decodes every *.yaml in dir strictly: an unknown or duplicate field,
// a kind the fleet does not use, or a malformed value is an error naming
// the file and document.
func load(dir string) (*manifests, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	m := &manifests{
		daemonSets: map[string]*appsv1.DaemonSet{}, secrets: map[string][]*corev1.Secret{},
		configMaps: map[string]*corev1.ConfigMap{}, services: map[string]*corev1.Service{},
		secretFiles: map[*corev1.Secret]string{},
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(f)
		if name == valuesFile {
			var v arcValues
			if err := strict(src, &v); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			m.runner = &v
			continue
		}
		for i, doc := range docSep.Split(string(src), -1) {
			if len(bytes.TrimSpace([]byte(doc))) == 0 {
				continue
			}
			sec, err := m.add([]byte(doc))
			if err != nil {
				return nil, fmt.Errorf("%s, document %d: %w", name, i+1, err)
			}
			if sec != nil {
				m.secretFiles[sec] = name
			}
		}
	}
	if m.runner == nil {
		return nil, fmt.Errorf("%s is missing", valuesFile)
	}
	return m, nil
}

// add decodes one document into the typed object of its kind; it returns
// the object when it is a Secret.
func (m *manifests) add(doc []byte) (*corev1.Secret, error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	key := tm.APIVersion + "/" + tm.Kind
	var obj any
	switch key {
	case "v1/Namespace":
		obj = &corev1.Namespace{}
	case "v1/ServiceAccount":
		obj = &corev1.ServiceAccount{}
	case "apps/v1/DaemonSet":
		obj = &appsv1.DaemonSet{}
	case "v1/Service":
		obj = &corev1.Service{}
	case "v1/Secret":
		obj = &corev1.Secret{}
	case "v1/ConfigMap":
		obj = &corev1.ConfigMap{}
	default:
		return nil, fmt.Errorf("kind %q of %q: not one the fleet uses", tm.Kind, tm.APIVersion)
	}
	if err := strict(doc, obj); err != nil {
		return nil, err
	}
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		m.daemonSets[o.Name] = o
	case *corev1.Service:
		m.services[o.Name] = o
	case *corev1.Secret:
		m.secrets[o.Name] = append(m.secrets[o.Name], o)
		return o, nil
	case *corev1.ConfigMap:
		m.configMaps[o.Name] = o
	}
	return nil, nil
}

// strict decodes YAML into obj as kube-apiserver's strict field validation
// does: YAML converted to JSON (duplicate keys refused), then field names
// matched case-sensitively with unknown and duplicate fields refused, each
// named by its path. encoding/json alone matches names case-insensitively,
// so a misspelt "hostPid" would pass as hostPID.
func strict(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	serrs, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err != nil {
		return err
	}
	return errors.Join(serrs...)
}
