package main

// The Kustomization inventory, as kustomize-controller keeps it in .status.inventory:
// entries {id: "<namespace>_<name>_<group>_<kind>", v: "<version>"}. A port of
// internal/inventory/inventory.go (New, AddChangeSet, Merge, Diff) of
// fluxcd/kustomize-controller v1.9.4 (commit 1324b615da01038e2859cbcde604bd5434f21933),
// which Go does not let us import (internal package). Same library calls: ids from
// cli-utils ObjMetadata.String(), stale set from ObjMetadataSet.Diff, sorted with
// ssa.SortableUnstructureds.

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fluxcd/cli-utils/pkg/object"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/ssa"
)

func newInventory() *kustomizev1.ResourceInventory {
	return &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{}}
}

// addChangeSet records every change set entry (skipped ones included).
func addChangeSet(inv *kustomizev1.ResourceInventory, set *ssa.ChangeSet) {
	if set == nil {
		return
	}
	for _, e := range set.Entries {
		inv.Entries = append(inv.Entries, kustomizev1.ResourceRef{ID: e.ObjMetadata.String(), Version: e.GroupVersion})
	}
}

// mergeInventory appends the objects that are not in the inventory yet.
func mergeInventory(inv *kustomizev1.ResourceInventory, objects []*unstructured.Unstructured) {
	if inv == nil || len(objects) == 0 {
		return
	}
	seen := make(map[string]bool, len(inv.Entries))
	for _, e := range inv.Entries {
		seen[e.ID] = true
	}
	for _, o := range objects {
		id := objMetadataID(o)
		if seen[id] {
			continue
		}
		inv.Entries = append(inv.Entries, kustomizev1.ResourceRef{ID: id, Version: o.GroupVersionKind().Version})
		seen[id] = true
	}
}

func listMetadata(inv *kustomizev1.ResourceInventory) (object.ObjMetadataSet, error) {
	var metas []object.ObjMetadata
	for _, e := range inv.Entries {
		m, err := object.ParseObjMetadata(e.ID)
		if err != nil {
			return metas, err
		}
		metas = append(metas, m)
	}
	return metas, nil
}

// diffInventory returns the objects of inv that are not in target.
func diffInventory(inv, target *kustomizev1.ResourceInventory) ([]*unstructured.Unstructured, error) {
	versions := make(map[string]string, len(inv.Entries))
	for _, e := range inv.Entries {
		versions[e.ID] = e.Version
	}
	objects := make([]*unstructured.Unstructured, 0)
	a, err := listMetadata(inv)
	if err != nil {
		return nil, err
	}
	b, err := listMetadata(target)
	if err != nil {
		return nil, err
	}
	for _, m := range a.Diff(b) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: m.GroupKind.Group, Kind: m.GroupKind.Kind, Version: versions[m.String()]})
		u.SetName(m.Name)
		u.SetNamespace(m.Namespace)
		objects = append(objects, u)
	}
	sort.Sort(ssa.SortableUnstructureds(objects))
	return objects, nil
}

func objMetadataID(o *unstructured.Unstructured) string {
	return object.UnstructuredToObjMetadata(o).String()
}
