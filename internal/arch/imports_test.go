package arch

import (
	"encoding/json"
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/postern-mta/postern"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-e", "-json=ImportPath,Imports,Deps"}, patterns...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// top returns the first path element inside the module, "" outside it.
func top(importPath string) string {
	rest, ok := strings.CutPrefix(importPath, module+"/")
	if !ok {
		return ""
	}
	first, _, _ := strings.Cut(rest, "/")
	return first
}

func isProgram(importPath string) bool {
	switch t := top(importPath); t {
	case "", "queue", "mailq", "internal", "cmd":
		return false
	default:
		return true
	}
}

func TestProgramsDoNotImportEachOther(t *testing.T) {
	for _, p := range listPackages(t, module+"/...") {
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			switch {
			case isProgram(p.ImportPath) && isProgram(imp) && top(imp) != top(p.ImportPath):
				t.Errorf("%s imports %s: programs talk through internal/proto, never by importing each other", p.ImportPath, imp)
			case !isProgram(p.ImportPath) && top(p.ImportPath) != "cmd" && isProgram(imp):
				t.Errorf("library %s imports program %s", p.ImportPath, imp)
			case p.ImportPath == module+"/internal/proto" && imp != module+"/internal/dsn":
				t.Errorf("internal/proto must stay a leaf, but imports %s", imp)
			}
		}
	}
}

func TestSetgidBinariesStaySmall(t *testing.T) {
	for _, p := range listPackages(t, module+"/cmd/postdrop", module+"/cmd/postqueue") {
		own := path.Base(p.ImportPath)
		for _, dep := range p.Deps {
			if strings.Contains(dep, "go-smtp") || strings.Contains(dep, "go-sasl") {
				t.Errorf("%s links %s: set-group-ID binaries carry no SMTP code", p.ImportPath, dep)
			}
			if isProgram(dep) && top(dep) != own {
				t.Errorf("%s links program %s", p.ImportPath, dep)
			}
		}
	}
}

// The rule must catch a violation: a daemon importing another daemon.
func TestRuleCatchesViolation(t *testing.T) {
	if !isProgram(module+"/smtpd") || !isProgram(module+"/cleanup") {
		t.Fatal("daemons are not recognised as programs")
	}
	if isProgram(module+"/internal/proto") || isProgram(module+"/queue") || isProgram(module+"/mailq") {
		t.Fatal("libraries are taken for programs")
	}
}
