SELECT * FROM t TO RUN img:1.0 CMD "slide_window_to_row"
INTO "output_table_1";
