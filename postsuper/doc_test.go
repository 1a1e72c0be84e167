package postsuper

import (
	"testing"

	"github.com/postern-mta/postern/internal/doccheck"
)

// Every main.cf parameter postsuper reads is in its manual.
func TestDocNamesParameters(t *testing.T) {
	doccheck.Manual{Files: []string{"*.go"}}.Check(t)
}
