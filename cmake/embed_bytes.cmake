# Shared by embed_file.cmake and embed_dir.cmake (scripts run with cmake -P).
# ferry_embed_bytes(PATH OUT_VAR): the file's bytes as C++ array initialisers,
# "0x2f,0x2a,…", sixteen a line. An empty file is an error: a zero-length
# array is not valid C++, and an empty asset is a mistake anyway.
function(ferry_embed_bytes path out_var)
  file(READ "${path}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  if(hex_length EQUAL 0)
    message(FATAL_ERROR "${path} is empty")
  endif()
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
  string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
  set(${out_var} "${bytes}" PARENT_SCOPE)
endfunction()
