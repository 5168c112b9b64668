# Tests never read or write the user's own cache (the auto barrier's choice,
# docs/barriers.md): gcvm_tests_use_build_cache(), called at the end of a directory that
# adds tests, points XDG_CACHE_HOME at a directory in the build tree for all of them.
function(gcvm_tests_use_build_cache)
  get_property(tests DIRECTORY PROPERTY TESTS)
  if(tests)
    set_property(TEST ${tests} APPEND PROPERTY ENVIRONMENT
      "XDG_CACHE_HOME=${PROJECT_BINARY_DIR}/test-cache")
  endif()
endfunction()
