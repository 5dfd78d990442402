# check_retirement.cmake — retiring a test at a later stage (RETIRED_AT ... BECAUSE ..., see
# cmake/SmarmStages.cmake) works, and a mistaken retirement fails the configuration. No real test
# is retired today, so the check runs smarm_stages_from on made-up stages, in script mode: the
# valid retirements give the right stages and are recorded with their reason; each invalid one
# runs in a child cmake that must fail with the message that says what is wrong.
# Usage: cmake [-DSCRATCH=<dir>] -P check_retirement.cmake   (the ctest stage_test_retirement)
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/SmarmStages.cmake)
set(SMARM_STAGES 01_context 02_stack 03_actors 04_channels)

# A child run: one invalid call, which must stop the script.
if(DEFINED CASE)
  cmake_language(EVAL CODE "${CASE}")
  message(STATUS "accepted: ${CASE}")
  return()
endif()

set(failures "")
macro(expect what actual expected)
  if(NOT "${actual}" STREQUAL "${expected}")
    string(APPEND failures "  ${what}: got '${actual}', expected '${expected}'\n")
  endif()
endmacro()

if(NOT SCRATCH)
  set(SCRATCH ${CMAKE_CURRENT_BINARY_DIR})
endif()
set(SMARM_RETIRED_FILE ${SCRATCH}/retired_tests_check.txt)
file(WRITE ${SMARM_RETIRED_FILE} "")

# 1. Without RETIRED_AT, a test runs from its stage to final/, and nothing is recorded.
smarm_stages_from(02_stack stages)
expect("FROM 02_stack" "${stages}" "02_stack;03_actors;04_channels;final")
smarm_stages_from(02_stack stages RETIRED_AT "" BECAUSE "" TESTS stack)  # how smarm_add_test calls
expect("FROM 02_stack with empty RETIRED_AT" "${stages}" "02_stack;03_actors;04_channels;final")

# 2. RETIRED_AT: the stages before that one only, not final/; recorded with the reason.
smarm_stages_from(01_context stages RETIRED_AT 04_channels
                  BECAUSE "channels wake receivers in a different order" TESTS fifo)
expect("FROM 01_context RETIRED_AT 04_channels" "${stages}" "01_context;02_stack;03_actors")
smarm_stages_from(02_stack stages RETIRED_AT 03_actors BECAUSE "the next stage; a; b" TESTS next)
expect("FROM 02_stack RETIRED_AT 03_actors" "${stages}" "02_stack")
file(READ ${SMARM_RETIRED_FILE} recorded)
expect("the record" "${recorded}"
  "fifo FROM 01_context RETIRED_AT 04_channels: channels wake receivers in a different order\nnext FROM 02_stack RETIRED_AT 03_actors: the next stage; a; b\n")

# 3. Mistakes fail, each with its message.
set(cases
  "smarm_stages_from(01_context s RETIRED_AT 09_cores BECAUSE \"x\" TESTS t)"
  "RETIRED_AT '09_cores' is not in SMARM_STAGES"
  "smarm_stages_from(01_context s RETIRED_AT 3_actors BECAUSE \"x\" TESTS t)"
  "RETIRED_AT '3_actors' is not in SMARM_STAGES"
  "smarm_stages_from(09_cores s RETIRED_AT 03_actors BECAUSE \"x\" TESTS t)"
  "FROM '09_cores' is not in SMARM_STAGES"
  "smarm_stages_from(02_stack s RETIRED_AT 02_stack BECAUSE \"x\" TESTS t)"
  "RETIRED_AT 02_stack does not come after FROM 02_stack"
  "smarm_stages_from(03_actors s RETIRED_AT 01_context BECAUSE \"x\" TESTS t)"
  "RETIRED_AT 01_context does not come after FROM 03_actors"
  "smarm_stages_from(01_context s RETIRED_AT 03_actors TESTS t)"
  "t: RETIRED_AT 03_actors needs BECAUSE"
  "smarm_stages_from(01_context s RETIRED_AT 03_actors BECAUSE \"\" TESTS t)"
  "t: RETIRED_AT 03_actors needs BECAUSE"
  "smarm_stages_from(01_context s RETIRED_AT 03_actors BECAUSE)"
  "the tests FROM 01_context: RETIRED_AT 03_actors needs BECAUSE"
  "smarm_stages_from(01_context s BECAUSE \"x\" TESTS t)"
  "t: BECAUSE without RETIRED_AT"
  "smarm_stages_from(01_context s RETIRED_AT)"
  "BECAUSE without RETIRED_AT|needs BECAUSE"
  "smarm_stages_from(01_context s UNTIL 03_actors)"
  "unexpected arguments: UNTIL")
while(cases)
  list(POP_FRONT cases case expected)
  execute_process(COMMAND ${CMAKE_COMMAND} "-DCASE=${case}" -P ${CMAKE_CURRENT_LIST_FILE}
                  OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
  string(REGEX REPLACE "[ \n]+" " " out "${out}")  # CMake wraps its messages
  if(rc EQUAL 0)
    string(APPEND failures "  accepted, but must fail: ${case}\n")
  elseif(NOT out MATCHES "${expected}")
    string(APPEND failures "  ${case}: failed without saying '${expected}':\n${out}\n")
  endif()
endwhile()

if(failures)
  message(FATAL_ERROR "check_retirement: retiring a test does not work as documented:\n"
                      "${failures}")
endif()
message(STATUS "check_retirement: retirements give the stages before the retiring one and are "
               "recorded; mistaken ones fail")
