# cmake -DSOURCE=page.N -DOUTPUT=page.N.gz -DVERSION=x.y.z -P ManPage.cmake
# Writes the man page gzipped (-n: no name or time stamp, so the output is reproducible), with
# "mtuguard <version>" in its .TH line set to VERSION.
file(READ ${SOURCE} text)
string(REGEX REPLACE "(\n\\.TH [^\n]*\"mtuguard )[0-9.]+\"" "\\1${VERSION}\"" text "${text}")
get_filename_component(name ${SOURCE} NAME)
set(plain ${OUTPUT}.tmp/${name})
file(WRITE ${plain} "${text}")
execute_process(COMMAND gzip -9 -n -c ${plain} OUTPUT_FILE ${OUTPUT} RESULT_VARIABLE failed)
file(REMOVE_RECURSE ${OUTPUT}.tmp)
if(failed)
  message(FATAL_ERROR "gzip ${plain}: ${failed}")
endif()
