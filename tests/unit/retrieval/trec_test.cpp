// TREC run and qrels readers: a run that cannot be scored the way trec_eval scores it
// (a document twice for one query, a score that is not a finite number, no lines at all)
// is refused with the file and line named, instead of giving silently wrong metrics.
#include "garden/retrieval/trec.h"

#include <gtest/gtest.h>

#include "garden/core/files.h"
#include "test_files.h"

namespace garden::retrieval {
namespace {

TEST(TrecRun, RefusesADocumentListedTwiceForAQuery) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "r.run", "1 Q0 d1 1 2.0 x\n1 Q0 d2 2 1.5 x\n2 Q0 d1 1 1.0 x\n1 Q0 d1 3 1.0 x\n");
  testing::expect_error_containing([&] { read_trec_run(dir.path() / "r.run"); },
                                   "r.run:4: document 'd1' is listed twice for query '1' (first on line 1)");
}

TEST(TrecRun, RefusesScoresThatAreNotFiniteNumbers) {
  testing::TempDir dir;
  for (const std::string score : {"nan", "NaN", "inf", "-inf"}) {
    write_file_atomic(dir.path() / "r.run", "1 Q0 d1 1 2.0 x\n1 Q0 d2 2 " + score + " x\n");
    testing::expect_error_containing([&] { read_trec_run(dir.path() / "r.run"); }, "r.run:2: score '" + score + "' is not a finite number");
  }
}

TEST(TrecRun, RefusesAnEmptyFileAndAFolder) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "empty.run", "\n");
  testing::expect_error_containing([&] { read_trec_run(dir.path() / "empty.run"); }, "empty.run: no run lines");
  std::filesystem::create_directories(dir.path() / "folder");
  testing::expect_error_containing([&] { read_trec_run(dir.path() / "folder"); }, "folder is a folder, not a file");
}

TEST(TrecQrels, RefusesAnEmptyFileAndAFolder) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "q.tsv", "query-id\tcorpus-id\tscore\n");
  testing::expect_error_containing([&] { read_qrels(dir.path() / "q.tsv"); }, "q.tsv: no judgements");
  write_file_atomic(dir.path() / "q.txt", "");
  testing::expect_error_containing([&] { read_qrels(dir.path() / "q.txt"); }, "q.txt: no judgements");
  std::filesystem::create_directories(dir.path() / "qrels");
  testing::expect_error_containing([&] { read_qrels(dir.path() / "qrels"); }, "qrels is a folder, not a file");
}

}  // namespace
}  // namespace garden::retrieval
