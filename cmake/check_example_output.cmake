# check_example_output.cmake — what the book shows an example printing is what it prints: runs the
# example and compares its standard output, line by line, with the first fenced block that follows
# the first line of the chapter naming the example. A change to either that the other does not
# follow fails the test, so the block is never a stale paste.
# Usage: cmake -DEXAMPLE=<program> [-DEMULATOR=<runner>] -DDOCUMENT=<book/NN.md>
#              -DANCHOR=<text on the line before the block, e.g. example_s03_actors> -P <this file>
cmake_minimum_required(VERSION 3.25)

# Read whole and searched as text: a list of lines would split "main; pong" at its semicolon.
file(READ ${DOCUMENT} text)
string(FIND "${text}" "${ANCHOR}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${DOCUMENT} does not name ${ANCHOR}")
endif()
string(SUBSTRING "${text}" ${at} -1 text)
string(FIND "${text}" "\n```" open)
if(open EQUAL -1)
  message(FATAL_ERROR "${DOCUMENT}: no fenced block after the line naming ${ANCHOR}")
endif()
math(EXPR open "${open} + 1")
string(SUBSTRING "${text}" ${open} -1 text)
string(FIND "${text}" "\n" line_end)  # the fence line, with its language if any
math(EXPR line_end "${line_end} + 1")
string(SUBSTRING "${text}" ${line_end} -1 text)
string(FIND "${text}" "```" close)
string(SUBSTRING "${text}" 0 ${close} shown)

execute_process(COMMAND ${EMULATOR} ${EXAMPLE} OUTPUT_VARIABLE printed RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXAMPLE} failed (${rc})")
endif()
# file(STRINGS) drops trailing blank lines and CMake lists cannot hold empty elements faithfully,
# so compare the texts with trailing whitespace removed from every line.
foreach(var shown printed)
  string(REGEX REPLACE "[ \t]+\n" "\n" ${var} "${${var}}")
  string(STRIP "${${var}}" ${var})
endforeach()
if(NOT shown STREQUAL printed)
  message(FATAL_ERROR "${DOCUMENT} shows, after naming ${ANCHOR}:\n${shown}\n\n"
                      "but ${EXAMPLE} prints:\n${printed}\n\n"
                      "Update the block in the book (or the example) so that they agree.")
endif()
message(STATUS "${DOCUMENT}: the block after ${ANCHOR} is what ${EXAMPLE} prints")
