// Which source the binary was built from, for reports that must stay tied to the code that
// produced their figures (results.json of a reproduction).
#pragma once

namespace garden {

// `git describe --always --dirty` of the checkout at build time ("abc123def456",
// "abc123def456-dirty" with uncommitted changes), or "unknown" outside a git checkout.
const char* source_commit();

}  // namespace garden
