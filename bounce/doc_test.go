package bounce

import (
	"testing"

	"github.com/postern-mta/postern/internal/doccheck"
)

// The manual's Configuration section names every main.cf parameter the
// daemon reads.
func TestDocListsEveryParameter(t *testing.T) {
	doccheck.Manual{Min: 10, Section: "# Configuration"}.Check(t)
}
