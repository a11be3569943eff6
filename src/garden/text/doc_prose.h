// English prose from documentation that Debian ships as markup: the reStructuredText
// sources of the Python documentation (python3-doc) and Perl's POD manuals (perl-doc).
// Each cleaner keeps running text only, one paragraph a line: code (literal and doctest
// blocks, verbatim paragraphs), directives, tables, headings and index entries are dropped,
// inline markup is reduced to its text. A paragraph is kept when it reads like prose
// (kProseMinWords words or more, mostly letters), so stray code does not pass as English.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace garden::text {

inline constexpr int kProseMinWords = 6;

// Whether a paragraph of cleaned text reads like prose (see above).
bool reads_like_prose(const std::string& paragraph);

// The prose paragraphs of one reStructuredText document (a Sphinx .rst source).
std::vector<std::string> rst_prose(const std::string& rst);

// The prose paragraphs of one POD document.
std::vector<std::string> pod_prose(const std::string& pod);

// Where Debian's packages put the sources: the newest python3.X / perl 5.X folder present.
// Throw naming the package to install when none is.
std::filesystem::path python_doc_sources_dir();
std::filesystem::path perl_pod_dir();

}  // namespace garden::text
