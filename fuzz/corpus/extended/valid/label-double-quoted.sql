SELECT * FROM t TO EVALUATE m WITH validation.metrics = "Accuracy" LABEL "label" INTO r;
