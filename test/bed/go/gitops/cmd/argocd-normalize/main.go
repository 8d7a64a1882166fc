// Command argocd-normalize applies an Application's spec.ignoreDifferences to objects the
// way Argo CD's diff normalizer does before it compares live and desired state, so that a
// test can see exactly what Argo CD ignores.
//
// A small port of util/argo/normalizers/diff_normalizer.go (NewIgnoreNormalizer,
// ignoreNormalizer.Normalize, jqNormalizerPatch.Apply, jsonPatchNormalizerPatch.Apply)
// of github.com/argoproj/argo-cd at tag v3.5.1 (commit
// 109ca7ca71139e514114499d294a492e7910a965; unchanged except an import path on master at
// 37ee0097cf851bc2dd7665fc081bbce61a7e836e), with the libraries at the versions that
// go.mod pins: github.com/itchyny/gojq v0.12.19, github.com/gobwas/glob v0.2.3 (through
// util/glob.Match), github.com/evanphx/json-patch v5.9.11+incompatible.
//
// Semantics carried over:
//   - every jqPathExpression E is compiled as `del(E)` (gojq.Parse + gojq.Compile); a
//     parse/compile error fails the whole normalizer (Argo CD: the comparison fails);
//   - every jsonPointer P is a JSON patch [{"op":"remove","path":P}];
//   - an entry applies to an object when glob.Match(group, objGroup) and
//     glob.Match(kind, objKind), and name/namespace are empty or equal;
//   - the matching patches run in order on the object's JSON; a patch that fails (jq
//     yields no value, an error value, more than one value, or runs past the timeout
//     (default 1 s: argocd-cmd-params-cm controller.ignore.normalizer.jq.timeout); a
//     JSON pointer that does not exist) is skipped: Argo CD only logs it at debug level
//     and goes on with the unpatched document;
//   - the result is decoded back into an unstructured.Unstructured (an error there, e.g.
//     a result without kind, fails the normalization).
//
// Not carried over: resource.customizations overrides from argocd-cm,
// managedFieldsManagers (a different normalizer) and the known-types normalizer.
//
// Input (stdin): {"ignoreDifferences": [{group, kind, name?, namespace?, jsonPointers?,
// jqPathExpressions?}, ...], "expressions": ["..."], "objects": [{...}, ...]}.
// "expressions" is shorthand for one entry {group: "*", kind: "*", jqPathExpressions}
// appended after ignoreDifferences. Output (stdout): {"objects": [...normalized, same
// order...], "skippedPatches": [{object, subject, expression | jsonPointer, error,
// logged}]} where "logged" says whether Argo CD would log it (shouldLogError). On a
// failing normalizer the error goes to stderr, exit code 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	jsonpatch "github.com/evanphx/json-patch"
	"github.com/gobwas/glob"
	"github.com/itchyny/gojq"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resourceIgnoreDifferences is v1alpha1.ResourceIgnoreDifferences (same JSON).
type resourceIgnoreDifferences struct {
	Group                 string   `json:"group,omitempty"`
	Kind                  string   `json:"kind"`
	Name                  string   `json:"name,omitempty"`
	Namespace             string   `json:"namespace,omitempty"`
	JSONPointers          []string `json:"jsonPointers,omitempty"`
	JQPathExpressions     []string `json:"jqPathExpressions,omitempty"`
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

type input struct {
	IgnoreDifferences []resourceIgnoreDifferences `json:"ignoreDifferences"`
	Expressions       []string                    `json:"expressions"`
	Objects           []json.RawMessage           `json:"objects"`
}

type skippedPatch struct {
	Object      int    `json:"object"`
	Subject     string `json:"subject"`
	Expression  string `json:"expression,omitempty"`
	JSONPointer string `json:"jsonPointer,omitempty"`
	Error       string `json:"error"`
	Logged      bool   `json:"logged"`
}

type output struct {
	Objects        []map[string]any `json:"objects"`
	SkippedPatches []skippedPatch   `json:"skippedPatches"`
}

// DefaultJQExecutionTimeout as in diff_normalizer.go.
const defaultJQExecutionTimeout = 1 * time.Second

type normalizerPatch interface {
	GetGroupKind() schema.GroupKind
	GetNamespace() string
	GetName() string
	Apply(data []byte) ([]byte, error)
	describe(s *skippedPatch)
}

type baseNormalizerPatch struct {
	groupKind schema.GroupKind
	namespace string
	name      string
}

func (np *baseNormalizerPatch) GetGroupKind() schema.GroupKind { return np.groupKind }
func (np *baseNormalizerPatch) GetNamespace() string           { return np.namespace }
func (np *baseNormalizerPatch) GetName() string                { return np.name }

type jsonPatchNormalizerPatch struct {
	baseNormalizerPatch
	patch   *jsonpatch.Patch
	pointer string
}

func (np *jsonPatchNormalizerPatch) Apply(data []byte) ([]byte, error) {
	patchedData, err := np.patch.Apply(data)
	if err != nil {
		return nil, err
	}
	return patchedData, nil
}

func (np *jsonPatchNormalizerPatch) describe(s *skippedPatch) { s.JSONPointer = np.pointer }

type jqNormalizerPatch struct {
	baseNormalizerPatch
	code               *gojq.Code
	jqExecutionTimeout time.Duration
	expression         string
}

func (np *jqNormalizerPatch) describe(s *skippedPatch) { s.Expression = np.expression }

func (np *jqNormalizerPatch) Apply(data []byte) ([]byte, error) {
	dataJSON := make(map[string]any)
	err := json.Unmarshal(data, &dataJSON)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), np.jqExecutionTimeout)
	defer cancel()

	iter := np.code.RunWithContext(ctx, dataJSON)
	first, ok := iter.Next()
	if !ok {
		return nil, errors.New("JQ patch did not return any data")
	}
	if err, ok = first.(error); ok {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("JQ patch execution timed out (%v)", np.jqExecutionTimeout.String())
		}
		return nil, fmt.Errorf("JQ patch returned error: %w", err)
	}
	_, ok = iter.Next()
	if ok {
		return nil, errors.New("JQ patch returned multiple objects")
	}

	patchedData, err := json.Marshal(first)
	if err != nil {
		return nil, err
	}
	return patchedData, err
}

type ignoreNormalizer struct {
	patches []normalizerPatch
}

// newIgnoreNormalizer is NewIgnoreNormalizer without the argocd-cm overrides.
func newIgnoreNormalizer(ignore []resourceIgnoreDifferences, jqTimeout time.Duration) (*ignoreNormalizer, error) {
	patches := make([]normalizerPatch, 0)
	for i := range ignore {
		base := baseNormalizerPatch{
			groupKind: schema.GroupKind{Group: ignore[i].Group, Kind: ignore[i].Kind},
			name:      ignore[i].Name,
			namespace: ignore[i].Namespace,
		}
		for _, path := range ignore[i].JSONPointers {
			patchData, err := json.Marshal([]map[string]string{{"op": "remove", "path": path}})
			if err != nil {
				return nil, err
			}
			patch, err := jsonpatch.DecodePatch(patchData)
			if err != nil {
				return nil, err
			}
			patches = append(patches, &jsonPatchNormalizerPatch{baseNormalizerPatch: base, patch: &patch, pointer: path})
		}
		for _, pathExpression := range ignore[i].JQPathExpressions {
			jqDeletionQuery, err := gojq.Parse(fmt.Sprintf("del(%s)", pathExpression))
			if err != nil {
				return nil, err
			}
			jqDeletionCode, err := gojq.Compile(jqDeletionQuery)
			if err != nil {
				return nil, err
			}
			patches = append(patches, &jqNormalizerPatch{
				baseNormalizerPatch: base,
				code:                jqDeletionCode,
				jqExecutionTimeout:  jqTimeout,
				expression:          pathExpression,
			})
		}
	}
	return &ignoreNormalizer{patches: patches}, nil
}

// globMatch is util/glob.Match: gobwas/glob compiled without separators; a pattern that
// does not compile matches nothing (Argo CD logs a warning).
func globMatch(pattern, text string) bool {
	compiled, err := glob.Compile(pattern)
	if err != nil {
		fmt.Fprintf(os.Stderr, "argocd-normalize: failed to compile pattern %s due to error %v\n", pattern, err)
		return false
	}
	return compiled.Match(text)
}

// Normalize is ignoreNormalizer.Normalize; skipped patches are reported through onSkip
// where Argo CD logs them.
func (n *ignoreNormalizer) Normalize(un *unstructured.Unstructured, onSkip func(normalizerPatch, error)) error {
	if un == nil {
		return errors.New("invalid argument: unstructured is nil")
	}
	matched := make([]normalizerPatch, 0)
	for _, patch := range n.patches {
		groupKind := un.GroupVersionKind().GroupKind()

		if globMatch(patch.GetGroupKind().Group, groupKind.Group) &&
			globMatch(patch.GetGroupKind().Kind, groupKind.Kind) &&
			(patch.GetName() == "" || patch.GetName() == un.GetName()) &&
			(patch.GetNamespace() == "" || patch.GetNamespace() == un.GetNamespace()) {
			matched = append(matched, patch)
		}
	}
	if len(matched) == 0 {
		return nil
	}

	docData, err := json.Marshal(un)
	if err != nil {
		return err
	}

	for _, patch := range matched {
		patchedDocData, err := patch.Apply(docData)
		if err != nil {
			onSkip(patch, err)
			continue
		}
		docData = patchedDocData
	}

	err = json.Unmarshal(docData, un)
	if err != nil {
		return err
	}
	return nil
}

func shouldLogError(e error) bool {
	if strings.Contains(e.Error(), "Unable to remove nonexistent key") {
		return false
	}
	if strings.Contains(e.Error(), "remove operation does not apply: doc is missing path") {
		return false
	}
	return true
}

func main() {
	os.Exit(run())
}

func run() int {
	jqTimeout := flag.Duration("jq-timeout", defaultJQExecutionTimeout, "controller.ignore.normalizer.jq.timeout")
	flag.Parse()

	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var in input
	if err := json.Unmarshal(data, &in); err != nil {
		fmt.Fprintf(os.Stderr, "invalid input: %v\n", err)
		return 2
	}
	ignore := append([]resourceIgnoreDifferences{}, in.IgnoreDifferences...)
	if len(in.Expressions) > 0 {
		ignore = append(ignore, resourceIgnoreDifferences{Group: "*", Kind: "*", JQPathExpressions: in.Expressions})
	}
	timeout := *jqTimeout
	if timeout == 0 {
		timeout = defaultJQExecutionTimeout
	}
	normalizer, err := newIgnoreNormalizer(ignore, timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		return 1
	}

	out := output{Objects: []map[string]any{}, SkippedPatches: []skippedPatch{}}
	for i, raw := range in.Objects {
		un := &unstructured.Unstructured{}
		if err := un.UnmarshalJSON(raw); err != nil {
			fmt.Fprintf(os.Stderr, "object %d: %v\n", i, err)
			return 1
		}
		subject := fmt.Sprintf("%s/%s/%s", un.GetKind(), un.GetNamespace(), un.GetName())
		err := normalizer.Normalize(un, func(p normalizerPatch, err error) {
			s := skippedPatch{Object: i, Subject: subject, Error: err.Error(), Logged: shouldLogError(err)}
			p.describe(&s)
			out.SkippedPatches = append(out.SkippedPatches, s)
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "object %d (%s): %v\n", i, subject, err)
			return 1
		}
		out.Objects = append(out.Objects, un.Object)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
