// The documentation cleaners on small hand-made samples: what is kept, what is dropped, and
// how inline markup reads.
#include "garden/text/doc_prose.h"

#include <gtest/gtest.h>

namespace garden::text {
namespace {

TEST(DocProse, ProseTestNeedsWordsAndLetters) {
  EXPECT_TRUE(reads_like_prose("The quick brown fox jumps over the lazy dog."));
  EXPECT_FALSE(reads_like_prose("Too short to count."));
  EXPECT_FALSE(reads_like_prose("x = os.path.join(a, b); y = f(x, 2) + g(3) * h[4]"));
}

TEST(DocProse, RestructuredTextKeepsParagraphsAndDropsCodeDirectivesAndHeadings) {
  const std::string rst =
      ".. _tut-if:\n"
      "\n"
      ":keyword:`!if` Statements\n"
      "=========================\n"
      "\n"
      "Perhaps the most well-known statement type is the :keyword:`if` statement.  For\n"
      "example::\n"
      "\n"
      "   >>> x = int(input(\"Please enter an integer: \"))\n"
      "   >>> if x < 0:\n"
      "\n"
      "   ...     x = 0\n"
      "\n"
      "See :func:`~os.path.join` and the ``print`` function in :pep:`8` for the details of *style*.\n"
      "\n"
      ".. note::\n"
      "   A note is a directive, and its body goes with it.\n"
      "\n"
      "* A list item is a paragraph of its own, with the marker gone.\n"
      "* The second item of the list starts a new paragraph here.\n"
      "\n"
      "=====  ============\n"
      "a      the first one of the rows\n"
      "=====  ============\n"
      "\n"
      "A `link to the docs <https://example.org/>`_ keeps only its words in the text.\n";
  EXPECT_EQ(rst_prose(rst),
            (std::vector<std::string>{
                "Perhaps the most well-known statement type is the if statement. For example:",
                "See join and the print function in PEP 8 for the details of style.",
                "A list item is a paragraph of its own, with the marker gone.",
                "The second item of the list starts a new paragraph here.",
                "A link to the docs keeps only its words in the text."}));
}

TEST(DocProse, PodKeepsOrdinaryParagraphsAndExpandsFormattingCodes) {
  const std::string pod =
      "=head1 NAME\n"
      "\n"
      "perlintro - a brief introduction\n"
      "\n"
      "=head1 DESCRIPTION\n"
      "\n"
      "You are I<strongly> advised to read L<perltoc> and the\n"
      "L<section on hashes|perldata/Hashes> before you use C<< $a->{b} >> in code.X<hash>\n"
      "\n"
      "    my $verbatim = 'code is never prose, even when it is long enough';\n"
      "\n"
      "=over 4\n"
      "\n"
      "=item *\n"
      "\n"
      "Compare with E<lt>=E<gt> when you sort numbers in ascending order.\n"
      "\n"
      "=back\n"
      "\n"
      "=begin html\n"
      "\n"
      "<p>An html block for one formatter only, which is skipped entirely.</p>\n"
      "\n"
      "=end html\n"
      "\n"
      "=cut\n"
      "\n"
      "sub after_cut { return 'this is code after the cut and never read' }\n"
      "\n"
      "=pod\n"
      "\n"
      "After the pod command the document reads as documentation once more.\n";
  EXPECT_EQ(pod_prose(pod),
            (std::vector<std::string>{
                "You are strongly advised to read perltoc and the section on hashes before you use $a->{b} in code.",
                "Compare with <=> when you sort numbers in ascending order.",
                "After the pod command the document reads as documentation once more."}));
}

}  // namespace
}  // namespace garden::text
