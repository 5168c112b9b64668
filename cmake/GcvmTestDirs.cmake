# Tests never read or write the user's own files: the auto barrier's cache
# (docs/barriers.md) and the Scheme REPL's history (bindings/scheme/README.md).
# gcvm_tests_use_build_dirs(), called at the end of a directory that adds tests, points
# XDG_CACHE_HOME and XDG_DATA_HOME at directories in the build tree for all of them.
function(gcvm_tests_use_build_dirs)
  get_property(tests DIRECTORY PROPERTY TESTS)
  if(tests)
    set_property(TEST ${tests} APPEND PROPERTY ENVIRONMENT
      "XDG_CACHE_HOME=${PROJECT_BINARY_DIR}/test-cache"
      "XDG_DATA_HOME=${PROJECT_BINARY_DIR}/test-data")
  endif()
endfunction()
