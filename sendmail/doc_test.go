package sendmail

import (
	"testing"

	"github.com/postern-mta/postern/internal/doccheck"
)

// TestDocNamesEveryParameter checks that the manual in doc.go names every
// parameter main.go reads.
func TestDocNamesEveryParameter(t *testing.T) {
	doccheck.Manual{Min: 3}.Check(t)
}
