package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestApplyChangesGolden(t *testing.T) {
	before, err := os.ReadFile("testdata/edit-before.cf")
	if err != nil {
		t.Fatal(err)
	}
	changes := []Change{
		{Name: "myhostname", Value: "new.example.com"},
		{Name: "relayhost", Value: "[relay.example]:587"},
		{Name: "mynetworks", Remove: true},
		{Name: "mydestination", Comment: true},
		{Name: "message_size_limit", Value: "20480000"},
		{Name: "empty_one", Value: ""},
		{Name: "not_there", Remove: true},
	}
	after, multiple, err := ApplyChanges(before, changes)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "edit-after.cf", string(after))
	if !reflect.DeepEqual(multiple, []string{"myhostname"}) {
		t.Errorf("multiple = %q", multiple)
	}
	c, err := Parse("main.cf", after)
	if err != nil {
		t.Fatalf("edited text does not parse: %v", err)
	}
	for name, want := range map[string]string{"myhostname": "new.example.com", "relayhost": "[relay.example]:587", "message_size_limit": "20480000"} {
		if got, _ := c.Raw(name); got != want {
			t.Errorf("after edit %s = %q, want %q", name, got, want)
		}
	}
	if c.IsSet("mynetworks") || c.IsSet("mydestination") {
		t.Errorf("removed or commented names still set: %q", c.SetNames())
	}

	nonl, _ := os.ReadFile("testdata/edit-nonl.cf")
	after, _, err = ApplyChanges(nonl, []Change{{Name: "added", Value: "x"}})
	if err != nil || string(after) != "no_newline_at_end = 1\nadded = x\n" {
		t.Errorf("append to a file without a final newline: %q, %v", after, err)
	}
}

func TestApplyChangesRefuses(t *testing.T) {
	for _, ch := range []Change{
		{Name: "myorigin", Value: "${foo"},
		{Name: "bad name", Value: "x"},
		{Name: "", Value: "x"},
		{Name: "a", Value: "line\nbreak"},
	} {
		if _, _, err := ApplyChanges([]byte("a = 1\n"), []Change{ch}); err == nil {
			t.Errorf("ApplyChanges(%+v): no error", ch)
		}
	}
	// A raw parameter may hold any "$".
	if _, _, err := ApplyChanges(nil, []Change{{Name: "smtpd_expansion_filter", Value: "ab$%"}}); err != nil {
		t.Errorf("raw parameter refused: %v", err)
	}
}

func TestParseChange(t *testing.T) {
	for in, want := range map[string]Change{
		"name=value":            {Name: "name", Value: "value"},
		" name  =  two words  ": {Name: "name", Value: "two words"},
		"name=":                 {Name: "name"},
	} {
		got, err := ParseChange(in)
		if err != nil || got != want {
			t.Errorf("ParseChange(%q) = %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"noequals", "=x", "a b=c"} {
		if _, err := ParseChange(in); err == nil {
			t.Errorf("ParseChange(%q): no error", in)
		}
	}
}

func TestEditMain(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "main.cf")
	if _, err := EditMain(file, []Change{{Name: "relayhost", Value: "[r.example]"}}); err != nil {
		t.Fatalf("EditMain of a missing file: %v", err)
	}
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := EditMain(file, []Change{{Name: "myhostname", Value: "a.example"}}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	if string(data) != "relayhost = [r.example]\nmyhostname = a.example\n" {
		t.Errorf("main.cf = %q", data)
	}
	fi, _ := os.Stat(file)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640 kept", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left in the directory: %v", ents)
	}
	if _, err := EditMain(file, []Change{{Name: "x", Value: "${"}}); err == nil || !strings.Contains(err.Error(), "unterminated") {
		t.Errorf("bad value: %v", err)
	}
	if data2, _ := os.ReadFile(file); string(data2) != string(data) {
		t.Errorf("a refused edit changed the file")
	}
}
