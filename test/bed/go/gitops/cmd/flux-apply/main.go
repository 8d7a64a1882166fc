// Command flux-apply applies a set of manifests to a cluster the way Flux's
// kustomize-controller reconciles a Kustomization, with the same fluxcd/pkg/ssa code path
// and options, then garbage-collects ("prunes") what left the set. It exists so that the
// test bed can check, against a real kube-apiserver, how Flux treats our output
// (create-only objects, prune-proof objects, staged apply, dry-run failures).
//
// Followed source: github.com/fluxcd/kustomize-controller at tag v1.9.4
// (commit 1324b615da01038e2859cbcde604bd5434f21933); the reconcile code is identical on
// main at commit 186fb3b29138ce82ff61ba1a9370b96a3dd598fe:
//   - internal/controller/kustomization_controller.go: reconcile() (temp dir, generate()
//     and build() with fluxcd/pkg/kustomize, ssautil.ReadObjects, ResourceManager, owner
//     labels, concurrency, inventory diff, prune with survivor re-tracking), apply()
//     (normalize, ApplyOptions, cleanup options, ApplyAllStaged, change log and the error
//     message format), prune(), pruneSurvivors(), deleteObjects() (DeleteOptions),
//     getClientAndPoller() (status poller for the staged waits);
//   - internal/controller/utils.go: MkdirTempAbs(), HasChanged();
//   - internal/inventory/inventory.go: AddChangeSet/Merge/Diff (ported in inventory.go,
//     the package is internal);
//   - main.go: controllerName "kustomize-controller", --concurrent-ssa 4,
//     --override-manager, --no-remote-bases false, the DisableStatusPollerCache feature
//     gate (default on: direct cluster reader), kube client QPS 50 / burst 300
//     (fluxcd/pkg/runtime/client); the other feature gates at their defaults.
//
// What is NOT reproduced: fetching the source artifact (the input is copied into the
// temp dir instead), SOPS decryption, post-build substitution, commonMetadata,
// spec.patches/images/components, spec.ignore drift rules, impersonation, health checks
// and wait, events and the Kustomization status itself (the --inventory file stands in
// for .status.inventory).
//
// Usage:
//
//	flux-apply --kubeconfig FILE [--name N] [--namespace NS] [--inventory FILE]
//	           [--prune=false] [--force] [--target-namespace NS] PATH
//
// PATH is the source directory (what spec.path points at: with a kustomization.yaml it
// is built as is, without one every *.yaml/*.yml below it is a resource), a single
// multi-document YAML file, or "-" for stdin. The result is one JSON document on stdout
// (see type result). On failure the error, worded as the controller puts it in the Ready
// condition, goes to stderr and the exit code is 1 (2 for usage errors).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/clusterreader"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	generator "github.com/fluxcd/pkg/kustomize"
	"github.com/fluxcd/pkg/runtime/statusreaders"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/normalize"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
)

// controllerName is kustomize-controller's field manager (main.go: const controllerName,
// passed as KustomizationReconciler.ControllerName and used as ssa.Owner.Field).
const controllerName = "kustomize-controller"

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type entry struct {
	Subject   string `json:"subject"`
	Action    string `json:"action"`
	ID        string `json:"id"`
	Version   string `json:"version"`
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Stage     string `json:"stage,omitempty"`
}

type stage struct {
	Name    string  `json:"name"`
	Entries []entry `json:"entries"`
}

type result struct {
	// Per ApplyAllStaged stage, in apply order: "definitions" (CRDs, Namespaces,
	// ClusterRoles; waited for), "classes" (kinds ending in Class; waited for),
	// "resources" (all the rest).
	Stages []stage `json:"stages"`
	// The whole change set, as the controller keeps it (skipped entries included).
	ChangeSet []entry `json:"changeSet"`
	// What the controller logs and emits as an event: one "<subject> <action>" line per
	// entry whose action is not unchanged/skipped (HasChanged).
	ChangeLog string `json:"changeLog"`
	// Inventory ids of the objects of the previous inventory missing from the new one.
	Stale []string `json:"stale"`
	// DeleteAll's change set over the stale objects (deleted / skipped / unknown);
	// empty when pruning is off.
	Pruned []entry `json:"pruned"`
	Prune  bool    `json:"prune"`
	// The new inventory (what .status.inventory becomes); also written to --inventory.
	Inventory *kustomizev1.ResourceInventory `json:"inventory,omitempty"`
	// Set when the run failed; the same text goes to stderr.
	Error string `json:"error,omitempty"`
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		kubeconfig, kubeContext, name, namespace, inventoryFile string
		targetNamespace                                         string
		prune, force                                            bool
		concurrentSSA                                           int
		timeout                                                 time.Duration
		overrideManagers                                        stringList
	)
	fl := flag.NewFlagSet("flux-apply", flag.ContinueOnError)
	fl.StringVar(&kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file of the target cluster")
	fl.StringVar(&kubeContext, "context", "", "kubeconfig context (default: current-context)")
	fl.StringVar(&name, "name", "kafka-cdk8s", "name of the Kustomization (owner label kustomize.toolkit.fluxcd.io/name)")
	fl.StringVar(&namespace, "namespace", "flux-system", "namespace of the Kustomization (owner label kustomize.toolkit.fluxcd.io/namespace)")
	fl.StringVar(&inventoryFile, "inventory", "", "JSON file standing in for .status.inventory: read if present, written after a successful apply")
	fl.StringVar(&targetNamespace, "target-namespace", "", "spec.targetNamespace (set by the generated kustomization.yaml)")
	fl.BoolVar(&prune, "prune", true, "spec.prune: garbage-collect objects of the previous inventory that are not in the set")
	fl.BoolVar(&force, "force", false, "spec.force: recreate objects whose immutable fields changed")
	fl.IntVar(&concurrentSSA, "concurrent-ssa", 4, "the controller's --concurrent-ssa")
	fl.Var(&overrideManagers, "override-manager", "the controller's --override-manager (repeatable)")
	fl.DurationVar(&timeout, "timeout", 5*time.Minute, "overall deadline of this run (not a controller setting)")
	if err := fl.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if fl.NArg() != 1 || kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "usage: flux-apply --kubeconfig FILE [--name N] [--namespace NS] [--inventory FILE] [--prune=false] [--force] [--target-namespace NS] PATH|-")
		return 2
	}

	// Silence controller-runtime's "log.SetLogger(...) was never called" and klog noise;
	// API warnings still reach stderr.
	ctrllog.SetLogger(logr.Discard())
	klog.SetLogger(logr.Discard())

	res := &result{Stages: []stage{}, ChangeSet: []entry{}, Stale: []string{}, Pruned: []entry{}, Prune: prune}
	fail := func(err error) int {
		res.Error = err.Error()
		printResult(res)
		fmt.Fprintln(os.Stderr, err.Error())
		return 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	kustomization := &kustomizev1.Kustomization{
		TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: kustomizev1.KustomizationSpec{
			Path:            "./",
			Prune:           prune,
			Force:           force,
			TargetNamespace: targetNamespace,
		},
	}
	objects, err := buildManifests(fl.Arg(0), kustomization)
	if err != nil {
		return fail(err)
	}

	// Create a snapshot of the current inventory.
	oldInventory := newInventory()
	if inventoryFile != "" {
		if inv, err := readInventory(inventoryFile); err != nil {
			return fail(err)
		} else if inv != nil {
			oldInventory = inv
		}
	}

	kubeClient, statusPoller, err := newClientAndPoller(kubeconfig, kubeContext)
	if err != nil {
		return fail(fmt.Errorf("failed to build kube client: %w", err))
	}

	// Create the server-side apply manager (reconcile()).
	resourceManager := ssa.NewResourceManager(kubeClient, statusPoller, ssa.Owner{
		Field: controllerName,
		Group: kustomizev1.GroupVersion.Group,
	})
	resourceManager.SetOwnerLabels(objects, name, namespace)
	resourceManager.SetConcurrency(concurrentSSA)

	// Validate and apply resources in stages.
	changeSet, partial, changeLog, err := apply(ctx, resourceManager, objects, force, overrideManagers)
	res.ChangeLog = changeLog
	if err != nil {
		// The controller keeps the old inventory when the apply fails; report what was
		// applied before the failure.
		res.ChangeSet, res.Stages = entries(partial), stages(partial)
		return fail(err)
	}
	res.ChangeSet, res.Stages = entries(changeSet), stages(changeSet)

	// Create an inventory from the reconciled resources.
	newInv := newInventory()
	addChangeSet(newInv, changeSet)
	res.Inventory = newInv

	// Detect stale resources which are subject to garbage collection.
	staleObjects, err := diffInventory(oldInventory, newInv)
	if err != nil {
		return fail(err)
	}
	for _, o := range staleObjects {
		res.Stale = append(res.Stale, objMetadataID(o))
	}

	// Run garbage collection for stale resources that do not have pruning disabled.
	// On failure, re-track the objects whose DELETE wasn't confirmed (prune()).
	var pruneErr error
	if prune {
		pruneSet, err := deleteObjects(ctx, resourceManager, name, namespace, staleObjects)
		res.Pruned = entries(pruneSet)
		if err != nil {
			mergeInventory(newInv, pruneSurvivors(staleObjects, pruneSet))
			pruneErr = err
		}
	}

	// .status.inventory is patched at the end of the reconcile whether or not the prune
	// failed (it holds the new inventory plus the survivors then).
	if inventoryFile != "" {
		if err := writeInventory(inventoryFile, newInv); err != nil {
			return fail(err)
		}
	}
	if pruneErr != nil {
		return fail(pruneErr)
	}
	printResult(res)
	return 0
}

// newClientAndPoller builds what the controller uses when it does not impersonate: the
// manager's client (unstructured reads are never served from the cache, so a direct
// client is equivalent) and polling.NewStatusPoller with the custom Job status reader
// and, DisableStatusPollerCache being on by default, the direct cluster reader.
func newClientAndPoller(kubeconfig, kubeContext string) (client.Client, *polling.StatusPoller, error) {
	restConfig, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext},
	).ClientConfig()
	if err != nil {
		return nil, nil, err
	}
	// fluxcd/pkg/runtime/client defaults (--kube-api-qps 50, --kube-api-burst 300).
	restConfig.QPS = 50
	restConfig.Burst = 300
	kubeClient, err := client.New(restConfig, client.Options{})
	if err != nil {
		return nil, nil, err
	}
	mapper := kubeClient.RESTMapper()
	poller := polling.NewStatusPoller(kubeClient, mapper, polling.Options{
		CustomStatusReaders:  []engine.StatusReader{statusreaders.NewCustomJobStatusReader(mapper)},
		ClusterReaderFactory: engine.ClusterReaderFactoryFunc(clusterreader.NewDirectClusterReader),
	})
	return kubeClient, poller, nil
}

// apply is KustomizationReconciler.apply() minus events, commonMetadata, spec.ignore and
// the SOPS check. It returns the change set (nil on error, as the controller does), the
// partial change set of a failed run (for reporting only), the change log, and the error
// worded as the controller words it ("<err>\n<change log>").
func apply(ctx context.Context, manager *ssa.ResourceManager, objects []*unstructured.Unstructured,
	force bool, disallowedFieldManagers []string) (*ssa.ChangeSet, *ssa.ChangeSet, string, error) {
	if err := normalize.UnstructuredList(objects); err != nil {
		return nil, nil, "", err
	}

	group := kustomizev1.GroupVersion.Group
	applyOpts := ssa.DefaultApplyOptions()
	applyOpts.Force = force
	applyOpts.ExclusionSelector = map[string]string{
		fmt.Sprintf("%s/reconcile", group): kustomizev1.DisabledValue,
		fmt.Sprintf("%s/ssa", group):       kustomizev1.IgnoreValue,
	}
	applyOpts.IfNotPresentSelector = map[string]string{
		fmt.Sprintf("%s/ssa", group): kustomizev1.IfNotPresentValue,
	}
	applyOpts.ForceSelector = map[string]string{
		fmt.Sprintf("%s/force", group): kustomizev1.EnabledValue,
	}
	applyOpts.CustomStageKinds = nil    // --custom-apply-stage-kinds default ""
	applyOpts.MigrateAPIVersion = false // feature gate MigrateAPIVersion, default off

	fieldManagers := []ssa.FieldManager{
		{
			// to undo changes made with 'kubectl apply --server-side --force-conflicts'
			Name:          "kubectl",
			OperationType: metav1.ManagedFieldsOperationApply,
		},
		{
			// to undo changes made with 'kubectl apply'
			Name:          "kubectl",
			OperationType: metav1.ManagedFieldsOperationUpdate,
		},
		{
			// to undo changes made with 'kubectl apply'
			Name:          "before-first-apply",
			OperationType: metav1.ManagedFieldsOperationUpdate,
		},
		{
			// to undo changes made by the controller before SSA
			Name:          controllerName,
			OperationType: metav1.ManagedFieldsOperationUpdate,
		},
	}
	for _, fieldManager := range disallowedFieldManagers {
		fieldManagers = append(fieldManagers,
			ssa.FieldManager{Name: fieldManager, OperationType: metav1.ManagedFieldsOperationApply},
			ssa.FieldManager{Name: fieldManager, OperationType: metav1.ManagedFieldsOperationUpdate},
		)
	}
	applyOpts.Cleanup = ssa.ApplyCleanupOptions{
		Annotations: []string{
			// remove the kubectl annotation
			corev1.LastAppliedConfigAnnotation,
			// remove deprecated fluxcd.io annotations
			"kustomize.toolkit.fluxcd.io/checksum",
			"fluxcd.io/sync-checksum",
		},
		Labels: []string{
			// remove deprecated fluxcd.io labels
			"fluxcd.io/sync-gc-mark",
		},
		FieldManagers: fieldManagers,
		Exclusions: map[string]string{
			fmt.Sprintf("%s/ssa", group): kustomizev1.MergeValue,
		},
	}

	resultSet := ssa.NewChangeSet()
	var changeSetLog strings.Builder
	if len(objects) > 0 {
		changeSet, err := manager.ApplyAllStaged(ctx, objects, applyOpts)
		if changeSet != nil && len(changeSet.Entries) > 0 {
			resultSet.Append(changeSet.Entries)
			for _, change := range changeSet.Entries {
				if hasChanged(change.Action) {
					changeSetLog.WriteString(change.String() + "\n")
				}
			}
		}
		// include the change log in the error message in case of a partial apply
		if err != nil {
			return nil, resultSet, strings.TrimSuffix(changeSetLog.String(), "\n"),
				fmt.Errorf("%w\n%s", err, changeSetLog.String())
		}
	}
	return resultSet, nil, strings.TrimSuffix(changeSetLog.String(), "\n"), nil
}

// hasChanged is internal/controller/utils.go HasChanged.
func hasChanged(action ssa.Action) bool {
	switch action {
	case ssa.SkippedAction, ssa.UnchangedAction:
		return false
	default:
		return true
	}
}

// deleteObjects is the controller's deleteObjects(): background propagation, only objects
// carrying this Kustomization's owner labels, never those with prune: disabled,
// reconcile: disabled or ssa: Ignore.
func deleteObjects(ctx context.Context, manager *ssa.ResourceManager, name, namespace string,
	objects []*unstructured.Unstructured) (*ssa.ChangeSet, error) {
	group := kustomizev1.GroupVersion.Group
	opts := ssa.DeleteOptions{
		PropagationPolicy: metav1.DeletePropagationBackground,
		Inclusions:        manager.GetOwnerLabels(name, namespace),
		Exclusions: map[string]string{
			fmt.Sprintf("%s/prune", group):     kustomizev1.DisabledValue,
			fmt.Sprintf("%s/reconcile", group): kustomizev1.DisabledValue,
			fmt.Sprintf("%s/ssa", group):       kustomizev1.IgnoreValue,
		},
	}
	return manager.DeleteAll(ctx, objects, opts)
}

// pruneSurvivors is the controller's pruneSurvivors(): the stale objects whose deletion
// was neither confirmed nor intentionally skipped.
func pruneSurvivors(objects []*unstructured.Unstructured, changeSet *ssa.ChangeSet) []*unstructured.Unstructured {
	settled := map[string]bool{}
	if changeSet != nil {
		for _, e := range changeSet.Entries {
			if e.Action == ssa.DeletedAction || e.Action == ssa.SkippedAction {
				settled[e.ObjMetadata.String()] = true
			}
		}
	}
	var survivors []*unstructured.Unstructured
	for _, o := range objects {
		if !settled[objMetadataID(o)] {
			survivors = append(survivors, o)
		}
	}
	return survivors
}

// buildManifests is what reconcile() does between fetching the artifact and creating
// the ResourceManager: the input stands in for the extracted artifact (copied into a
// fresh temp dir, spec.path "./"), generate() writes a kustomization.yaml listing every
// *.yaml/*.yml manifest when there is none (fluxcd/pkg/kustomize Generator), build()
// runs generator.SecureBuild (kustomize, plugins off, no load restrictions inside the
// root) and checks apiVersion/kind/name, and ssautil.ReadObjects decodes the result.
// So YAML is read the way Flux reads it (kustomize's YAML 1.2 parser: `on`, `yes`, `y`
// are strings), duplicate objects fail the build, and a kustomization.yaml in the input
// is honoured. A single file or stdin becomes manifests.yaml.
func buildManifests(input string, kustomization *kustomizev1.Kustomization) ([]*unstructured.Unstructured, error) {
	tmpDir, err := os.MkdirTemp("", "kustomization-")
	if err != nil {
		return nil, fmt.Errorf("tmp dir error: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	if tmpDir, err = filepath.EvalSymlinks(tmpDir); err != nil {
		return nil, fmt.Errorf("error evaluating symlink: %w", err)
	}

	switch info, err := os.Stat(input); {
	case input == "-":
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmpDir, "manifests.yaml"), data, 0o644); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case info.IsDir():
		if err := os.CopyFS(tmpDir, os.DirFS(input)); err != nil {
			return nil, fmt.Errorf("copying %s: %w", input, err)
		}
	default:
		data, err := os.ReadFile(input)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmpDir, "manifests.yaml"), data, 0o644); err != nil {
			return nil, err
		}
	}
	dirPath := tmpDir

	// Generate kustomization.yaml if needed.
	k, err := runtime.DefaultUnstructuredConverter.ToUnstructured(kustomization)
	if err != nil {
		return nil, err
	}
	if _, err := generator.NewGenerator(tmpDir, unstructured.Unstructured{Object: k}).WriteFile(dirPath); err != nil {
		return nil, err
	}

	// Build the Kustomize overlay (build(), minus decryption and post-build substitution).
	m, err := generator.SecureBuild(tmpDir, dirPath, true) // --no-remote-bases defaults to false
	if err != nil {
		return nil, fmt.Errorf("kustomize build failed: %w", err)
	}
	for _, res := range m.Resources() {
		// check if resources conform to the Kubernetes API conventions
		if res.GetName() == "" || res.GetKind() == "" || res.GetApiVersion() == "" {
			return nil, fmt.Errorf("failed to decode Kubernetes apiVersion, kind and name from: %v", res.String())
		}
	}
	resources, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build failed: %w", err)
	}

	// Convert the build result into Kubernetes unstructured objects.
	return ssautil.ReadObjects(bytes.NewReader(resources))
}

func entries(cs *ssa.ChangeSet) []entry {
	out := []entry{}
	if cs == nil {
		return out
	}
	for _, e := range cs.Entries {
		out = append(out, entry{
			Subject:   e.Subject,
			Action:    string(e.Action),
			ID:        e.ObjMetadata.String(),
			Version:   e.GroupVersion,
			Group:     e.ObjMetadata.GroupKind.Group,
			Kind:      e.ObjMetadata.GroupKind.Kind,
			Namespace: e.ObjMetadata.Namespace,
			Name:      e.ObjMetadata.Name,
			Stage:     stageOf(e),
		})
	}
	return out
}

// stageOf classifies an entry with the predicates ApplyAllStaged partitions by.
func stageOf(e ssa.ChangeSetEntry) string {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: e.ObjMetadata.GroupKind.Group, Version: e.GroupVersion, Kind: e.ObjMetadata.GroupKind.Kind})
	switch {
	case ssautil.IsClusterDefinition(u):
		return "definitions"
	case ssautil.IsClassDefinition(u):
		return "classes"
	default:
		return "resources"
	}
}

func stages(cs *ssa.ChangeSet) []stage {
	out := []stage{}
	for _, e := range entries(cs) {
		if len(out) == 0 || out[len(out)-1].Name != e.Stage {
			out = append(out, stage{Name: e.Stage, Entries: []entry{}})
		}
		out[len(out)-1].Entries = append(out[len(out)-1].Entries, e)
	}
	return out
}

func printResult(res *result) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

func readInventory(path string) (*kustomizev1.ResourceInventory, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	inv := newInventory()
	if err := json.Unmarshal(data, inv); err != nil {
		return nil, fmt.Errorf("inventory %s: %w", path, err)
	}
	if inv.Entries == nil {
		inv.Entries = []kustomizev1.ResourceRef{}
	}
	return inv, nil
}

func writeInventory(path string, inv *kustomizev1.ResourceInventory) error {
	data, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
