// Corpus readers: plain text (one document per line, or the whole file as one document)
// and JSONL with a chosen string field. Errors name the file and line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace garden::text {

enum class TextUnit { line, file };

// Non-empty lines (TextUnit::line) or the whole file (TextUnit::file).
std::vector<std::string> read_text_documents(const std::filesystem::path& path, TextUnit unit);

// The string `field` of every JSON object line (blank lines skipped).
std::vector<std::string> read_jsonl_field(const std::filesystem::path& path, const std::string& field);

// Dispatch on the extension: .jsonl -> read_jsonl_field(field), else plain text by line.
std::vector<std::string> read_documents(const std::filesystem::path& path, const std::string& jsonl_field = "text");

}  // namespace garden::text
