SELECT 1 TO train.x;
