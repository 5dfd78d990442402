# The stages a test runs on: from the stage that introduces its mechanism to every later one and
# final/, unless a later stage retires it. Needs only SMARM_STAGES, so that
# cmake/check_retirement.cmake can check it in script mode.
include_guard(GLOBAL)

# The stages a test registered FROM <from> runs on: <from>, every later stage, and final/.
#   smarm_stages_from(<from> <out> [RETIRED_AT <stage> BECAUSE <reason> TESTS <what>])
# RETIRED_AT: a later stage deliberately changes the behaviour the tests pin (FIFO order once
# there are several cores, say), so they run on the stages before <stage> only, and not on
# final/. The reason is required; the retirement is printed at configure time and appended to
# the file SMARM_RETIRED_FILE names (build/<preset>/retired_tests.txt), <what> naming the tests.
# An unknown stage, or one not after <from>, fails the configuration.
function(smarm_stages_from from out)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "RETIRED_AT;BECAUSE;TESTS" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "smarm_stages_from: unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  list(FIND SMARM_STAGES "${from}" first)
  if(first EQUAL -1)
    message(FATAL_ERROR "FROM '${from}' is not in SMARM_STAGES (${SMARM_STAGES})")
  endif()
  list(SUBLIST SMARM_STAGES ${first} -1 stages)
  list(APPEND stages final)

  set(missing ${arg_KEYWORDS_MISSING_VALUES})
  list(REMOVE_ITEM missing TESTS)
  if(NOT DEFINED arg_RETIRED_AT AND NOT DEFINED arg_BECAUSE AND NOT missing)
    set(${out} ${stages} PARENT_SCOPE)
    return()
  endif()
  set(what "${arg_TESTS}")
  if(what STREQUAL "")
    set(what "the tests FROM ${from}")
  endif()
  if(NOT DEFINED arg_RETIRED_AT)
    message(FATAL_ERROR "${what}: BECAUSE without RETIRED_AT <stage>: name the stage that "
                        "retires them")
  endif()
  if(NOT DEFINED arg_BECAUSE)
    message(FATAL_ERROR "${what}: RETIRED_AT ${arg_RETIRED_AT} needs BECAUSE \"<reason>\": say "
                        "which behaviour stage ${arg_RETIRED_AT} changes on purpose")
  endif()
  list(FIND SMARM_STAGES "${arg_RETIRED_AT}" last)
  if(last EQUAL -1)
    message(FATAL_ERROR "${what}: RETIRED_AT '${arg_RETIRED_AT}' is not in SMARM_STAGES "
                        "(${SMARM_STAGES})")
  endif()
  if(last LESS_EQUAL first)
    message(FATAL_ERROR "${what}: RETIRED_AT ${arg_RETIRED_AT} does not come after FROM "
                        "${from}: a test is retired by a later stage")
  endif()
  math(EXPR count "${last} - ${first}")
  list(SUBLIST SMARM_STAGES ${first} ${count} stages)
  message(STATUS "smarm: ${what} (FROM ${from}) retired at ${arg_RETIRED_AT}: ${arg_BECAUSE}")
  if(SMARM_RETIRED_FILE)
    file(APPEND ${SMARM_RETIRED_FILE}
         "${what} FROM ${from} RETIRED_AT ${arg_RETIRED_AT}: ${arg_BECAUSE}\n")
  endif()
  set(${out} ${stages} PARENT_SCOPE)
endfunction()
