SELECT * FROM t TO TRAIN DNNClassifier WITH model.n_classes = 2
COLUMN SPARSE(deep_id,15033,COMMA,int),
       EMBEDDING(CATEGORY_ID(deep_id,15033,COMMA),512,mean),
       EMBEDDING ( /* spaced */ CATEGORY_ID ( space_stat , 418 , COMMA ) , 64 , mean ),
       EMBEDDING(CROSS([petal_width, petal_length], 10), 128, 'sqrtn'),
       CROSS([`label`, "x y", NUMERIC(z)], 7)
LABEL l INTO m;
