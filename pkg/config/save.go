package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Save writes the config atomically (a temporary file in the same
// directory, fsync, rename) with mode 0600. Comments and key order of the
// file it was loaded from are kept: the new values are merged into the
// parsed document rather than written afresh.
func (c *Config) Save() error {
	if c.Path == "" {
		return fmt.Errorf("save config: no path")
	}
	c.Version = Version
	var fresh yaml.Node
	if err := fresh.Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if c.doc == nil || len(c.doc.Content) == 0 {
		c.doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{&fresh}}
		c.doc.HeadComment = "mailport configuration. Secrets are not kept here: see `mailport token-config show` and `mailport account show`."
	} else {
		merge(c.doc.Content[0], &fresh)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c.doc); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return WriteFileAtomic(c.Path, buf.Bytes(), 0o600)
}

// merge updates old in place to carry fresh's values, keeping old's
// comments, key order and quoting. Keys missing from fresh are removed;
// new keys are appended.
func merge(old, fresh *yaml.Node) {
	switch {
	case old.Kind == yaml.MappingNode && fresh.Kind == yaml.MappingNode:
		freshVals := map[string]*yaml.Node{}
		var freshOrder []*yaml.Node
		for i := 0; i+1 < len(fresh.Content); i += 2 {
			freshVals[fresh.Content[i].Value] = fresh.Content[i+1]
			freshOrder = append(freshOrder, fresh.Content[i])
		}
		var content []*yaml.Node
		kept := map[string]bool{}
		for i := 0; i+1 < len(old.Content); i += 2 {
			k, val := old.Content[i], old.Content[i+1]
			fv, ok := freshVals[k.Value]
			if !ok || kept[k.Value] {
				continue
			}
			merge(val, fv)
			content = append(content, k, val)
			kept[k.Value] = true
		}
		for _, k := range freshOrder {
			if !kept[k.Value] {
				content = append(content, k, freshVals[k.Value])
			}
		}
		wasEmpty := len(old.Content) == 0
		old.Content = content
		if wasEmpty || (old.Style == yaml.FlowStyle && len(content) > 8) {
			old.Style = fresh.Style // `accounts: {}` grows into a block
		}
	case old.Kind == yaml.ScalarNode && fresh.Kind == yaml.ScalarNode:
		if old.Value == fresh.Value && old.Tag == fresh.Tag {
			return
		}
		quoted := old.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		old.Value, old.Tag = fresh.Value, fresh.Tag
		if !quoted || fresh.Style != 0 {
			old.Style = fresh.Style
		}
	case old.Kind == yaml.SequenceNode && fresh.Kind == yaml.SequenceNode:
		old.Content = fresh.Content
	default:
		head, line, foot := old.HeadComment, old.LineComment, old.FootComment
		*old = *fresh
		old.HeadComment, old.LineComment, old.FootComment = head, line, foot
	}
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, fsynced and renamed into place, so readers see the old or the
// new content, never a mix. The directory is created (0700) if missing.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; not all file systems support it
		d.Close()
	}
	return nil
}
