// A C interface to SentencePiece, built as its own shared module and loaded with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND) by text/tokenizer.cpp.
//
// Why: Debian's libsentencepiece bundles and exports its own protobuf 3.14 runtime, while
// libtorch needs the system's libprotobuf 3.21. Linked into one program the two copies'
// symbols interpose and the process crashes at start-up (or protobuf aborts on a version
// check). Loaded this way, SentencePiece binds only to its own copy and never enters the
// global symbol scope that libprotobuf resolves against.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

void set_error(char* buffer, size_t size, const std::string& message) {
  if (buffer == nullptr || size == 0) return;
  std::strncpy(buffer, message.c_str(), size - 1);
  buffer[size - 1] = '\0';
}

char* copy_out(const std::string& s, size_t* length) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  if (length) *length = s.size();
  return out;
}

}  // namespace

extern "C" {

void* garden_spm_load(const char* path, char* error, size_t error_size) {
  auto* processor = new sentencepiece::SentencePieceProcessor();
  auto status = processor->Load(path);
  if (!status.ok()) {
    set_error(error, error_size, status.ToString());
    delete processor;
    return nullptr;
  }
  return processor;
}

void garden_spm_destroy(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

void garden_spm_release(void* memory) { std::free(memory); }

int garden_spm_encode(void* handle, const char* text, size_t length, int** ids, size_t* count, char* error, size_t error_size) {
  std::vector<int> out;
  auto status = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Encode(std::string(text, length), &out);
  if (!status.ok()) {
    set_error(error, error_size, status.ToString());
    return 0;
  }
  *count = out.size();
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (out.empty() ? 1 : out.size())));
  if (!out.empty()) std::memcpy(*ids, out.data(), sizeof(int) * out.size());
  return 1;
}

int garden_spm_decode(void* handle, const int* ids, size_t count, char** text, size_t* length, char* error, size_t error_size) {
  std::string out;
  auto status = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Decode(std::vector<int>(ids, ids + count), &out);
  if (!status.ok()) {
    set_error(error, error_size, status.ToString());
    return 0;
  }
  *text = copy_out(out, length);
  return 1;
}

int garden_spm_piece_size(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize(); }
int garden_spm_bos_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->bos_id(); }
int garden_spm_eos_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->eos_id(); }
int garden_spm_pad_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->pad_id(); }
int garden_spm_unk_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->unk_id(); }
int garden_spm_piece_to_id(void* handle, const char* piece) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->PieceToId(piece);
}
char* garden_spm_id_to_piece(void* handle, int id) {
  return copy_out(static_cast<sentencepiece::SentencePieceProcessor*>(handle)->IdToPiece(id), nullptr);
}

int garden_spm_train(const char* arguments, char* error, size_t error_size) {
  // SentencePiece logs its command line and progress to stderr whatever minloglevel says;
  // silence fd 2 while it trains (errors come back through the status). fd 2 belongs to the
  // whole process: trainings on several threads would save each other's /dev/null and leave
  // stderr silenced for good, so one trains at a time.
  static std::mutex one_at_a_time;
  std::lock_guard<std::mutex> lock(one_at_a_time);
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int null = ::open("/dev/null", O_WRONLY);
  if (null >= 0) ::dup2(null, 2);
  auto status = sentencepiece::SentencePieceTrainer::Train(arguments);
  std::fflush(stderr);
  if (saved >= 0) ::dup2(saved, 2);
  if (saved >= 0) ::close(saved);
  if (null >= 0) ::close(null);
  if (!status.ok()) {
    set_error(error, error_size, status.ToString());
    return 0;
  }
  return 1;
}

}  // extern "C"
