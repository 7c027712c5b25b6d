<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr_FR">
<context>
    <name>Declared</name>
    <message>
        <source>defective</source>
        <translation>défectueux</translation>
    </message>
    <message>
        <source>damaged</source>
        <translation>endommagé</translation>
    </message>
</context>
<context>
    <name>Defect</name>
    <message>
        <source>defect</source>
        <translation>défaut</translation>
    </message>
    <message>
        <source>crushed corner</source>
        <translation>coin écrasé</translation>
    </message>
    <message>
        <source>dent</source>
        <translation>bosse</translation>
    </message>
    <message>
        <source>opened seal</source>
        <translation>scellé ouvert</translation>
    </message>
    <message>
        <source>scratch</source>
        <translation>rayure</translation>
    </message>
    <message>
        <source>stain</source>
        <translation>tache</translation>
    </message>
    <message>
        <source>tear</source>
        <translation>déchirure</translation>
    </message>
    <message>
        <source>blowhole</source>
        <translation>soufflure</translation>
    </message>
    <message>
        <source>break</source>
        <translation>cassure</translation>
    </message>
    <message>
        <source>crack</source>
        <translation>fissure</translation>
    </message>
    <message>
        <source>fray</source>
        <translation>effilochage</translation>
    </message>
    <message>
        <source>uneven</source>
        <translation>surface irrégulière</translation>
    </message>
    <message>
        <source>empty</source>
        <translation>vide</translation>
    </message>
</context>
<context>
    <name>Disposition</name>
    <message>
        <source>Restock</source>
        <translation>Remise en stock</translation>
    </message>
    <message>
        <source>Repair</source>
        <translation>Réparation</translation>
    </message>
    <message>
        <source>Recycle</source>
        <translation>Recyclage</translation>
    </message>
    <message>
        <source>Manual review</source>
        <translation>Contrôle manuel</translation>
    </message>
    <message>
        <source>Quarantine</source>
        <translation>Quarantaine</translation>
    </message>
</context>
<context>
    <name>Health</name>
    <message>
        <source>conveyor connected</source>
        <translation>convoyeur connecté</translation>
    </message>
    <message>
        <source>conveyor link down</source>
        <translation>liaison avec le convoyeur coupée</translation>
    </message>
    <message>
        <source>{problem}. Items go to the manual lane until it is back; check the controller&apos;s power and USB cable.</source>
        <translation>{problem}. Les articles partent sur la voie manuelle jusqu&apos;à son retour ; vérifiez l&apos;alimentation et le câble USB de l&apos;automate.</translation>
    </message>
    <message>
        <source>JAM in zone {zone}</source>
        <translation>BOURRAGE en zone {zone}</translation>
    </message>
    <message>
        <source>No diverts are sent. Clear the belt, then press Clear on the controller.</source>
        <translation>Aucun aiguillage n&apos;est commandé. Dégagez le tapis, puis appuyez sur Clear sur l&apos;automate.</translation>
    </message>
    <message>
        <source>E-STOP pressed</source>
        <translation>ARRÊT D&apos;URGENCE enclenché</translation>
    </message>
    <message>
        <source>The belt is stopped. Release the e-stop and clear it on the controller.</source>
        <translation>Le tapis est arrêté. Déverrouillez l&apos;arrêt d&apos;urgence et acquittez-le sur l&apos;automate.</translation>
    </message>
    <message>
        <source>conveyor running</source>
        <translation>convoyeur en marche</translation>
    </message>
    <message>
        <source>no conveyor (bench mode)</source>
        <translation>pas de convoyeur (table d&apos;inspection)</translation>
    </message>
    <message>
        <source>No answer from the controller on {port}: items go to the manual lane. Check the controller&apos;s power and cable.</source>
        <translation>Pas de réponse de l&apos;automate sur {port} : les articles partent sur la voie manuelle. Vérifiez l&apos;alimentation et le câble de l&apos;automate.</translation>
    </message>
    <message>
        <source>No answer from the controller: items go to the manual lane. Check the controller&apos;s power and cable.</source>
        <translation>Pas de réponse de l&apos;automate : les articles partent sur la voie manuelle. Vérifiez l&apos;alimentation et le câble de l&apos;automate.</translation>
    </message>
    <message>
        <source>No diverts are sent until the controller reports it cleared.</source>
        <translation>Aucun aiguillage n&apos;est commandé tant que l&apos;automate ne signale pas le retour à la normale.</translation>
    </message>
    <message>
        <source>{misrouted} items misrouted: check the diverters</source>
        <translation>{misrouted} articles mal aiguillés : vérifiez les aiguillages</translation>
    </message>
    <message>
        <source>camera {camera} live</source>
        <translation>caméra {camera} en marche</translation>
    </message>
    <message>
        <source>camera {camera} starting</source>
        <translation>caméra {camera} en démarrage</translation>
    </message>
    <message>
        <source>camera {camera} frozen</source>
        <translation>caméra {camera} figée</translation>
    </message>
    <message>
        <source>camera {camera} down</source>
        <translation>caméra {camera} hors service</translation>
    </message>
    <message>
        <source>{problem}. Items go to manual review until it is back; check the camera&apos;s cable and power.</source>
        <translation>{problem}. Les articles passent en contrôle manuel jusqu&apos;à son retour ; vérifiez le câble et l&apos;alimentation de la caméra.</translation>
    </message>
    <message>
        <source>synthetic camera: no calibration needed</source>
        <translation>caméra de démonstration : pas d&apos;étalonnage nécessaire</translation>
    </message>
    <message>
        <source>not calibrated</source>
        <translation>caméra non étalonnée</translation>
    </message>
    <message>
        <source>calibration refused</source>
        <translation>étalonnage refusé</translation>
    </message>
    <message>
        <source>{problem}. Item sizes are not checked until `station calibrate` has been run for this camera.</source>
        <translation>{problem}. Les dimensions des articles ne sont pas contrôlées tant que `station calibrate` n&apos;a pas été lancé pour cette caméra.</translation>
    </message>
    <message>
        <source>calibrated (lens, belt plane and colour)</source>
        <translation>caméra étalonnée (objectif, plan du tapis et couleur)</translation>
    </message>
    <message>
        <source>calibrated in part: run the missing steps</source>
        <translation>étalonnage incomplet : faites les étapes manquantes</translation>
    </message>
    <message>
        <source>hand scanner not answering</source>
        <translation>la douchette ne répond pas</translation>
    </message>
    <message>
        <source>{problem}. Check its cable; scans meanwhile need the T key.</source>
        <translation>{problem}. Vérifiez son câble ; en attendant, déclenchez chaque lecture avec la touche T.</translation>
    </message>
    <message>
        <source>disk full: not taking items</source>
        <translation>disque plein : plus aucun article accepté</translation>
    </message>
    <message>
        <source>Only {free_mb:.0f} MB free in {folder}; the oldest images are deleted first below {min_free_mb} MB. Free some space or add a disk.</source>
        <translation>Plus que {free_mb:.0f} Mo libres dans {folder} ; sous {min_free_mb} Mo, les images les plus anciennes sont supprimées en premier. Libérez de la place ou ajoutez un disque.</translation>
    </message>
    <message>
        <source>disk {free_gb:.1f} GB free</source>
        <translation>disque : {free_gb:.1f} Go libres</translation>
    </message>
    <message>
        <source>models: {names}</source>
        <translation>modèles : {names}</translation>
    </message>
    <message>
        <source>no models loaded</source>
        <translation>aucun modèle chargé</translation>
    </message>
    <message>
        <source>{problems}. Items go to manual review.</source>
        <translation>{problems}. Les articles passent en contrôle manuel.</translation>
    </message>
    <message>
        <source>No reference images enrolled: run `station enroll SKU IMAGES`.</source>
        <translation>Aucune image de référence enregistrée : lancez `station enroll SKU IMAGES`.</translation>
    </message>
    <message>
        <source>no broker: verdicts kept in the outbox</source>
        <translation>pas de serveur MQTT : verdicts gardés en file d&apos;envoi</translation>
    </message>
    <message>
        <source>no broker configured</source>
        <translation>aucun serveur MQTT configuré</translation>
    </message>
    <message>
        <source>Verdicts wait in the outbox; set [sync].broker to send them.</source>
        <translation>Les verdicts attendent dans la file d&apos;envoi ; renseignez [sync].broker pour les envoyer.</translation>
    </message>
    <message>
        <source>Cannot reach the broker ({error}). Nothing is lost: verdicts wait in the outbox and are sent when it is back. Check the network or the broker.</source>
        <translation>Serveur MQTT injoignable ({error}). Rien n&apos;est perdu : les verdicts attendent dans la file d&apos;envoi et partent à son retour. Vérifiez le réseau ou le serveur.</translation>
    </message>
    <message>
        <source>The broker does not answer. Nothing is lost: verdicts wait in the outbox and are sent when it is back. Check the network or the broker.</source>
        <translation>Le serveur MQTT ne répond pas. Rien n&apos;est perdu : les verdicts attendent dans la file d&apos;envoi et partent à son retour. Vérifiez le réseau ou le serveur.</translation>
    </message>
    <message>
        <source>MQTT down, {backlog} verdicts waiting</source>
        <translation>MQTT coupé, {backlog} verdicts en attente</translation>
    </message>
    <message>
        <source>MQTT connected, {backlog} waiting (oldest {age:.0f} s)</source>
        <translation>MQTT connecté, {backlog} en attente (le plus ancien depuis {age:.0f} s)</translation>
    </message>
    <message>
        <source>Central has not acknowledged these verdicts yet; check the central receiver.</source>
        <translation>Le système central n&apos;a pas encore accusé réception de ces verdicts ; vérifiez le récepteur central.</translation>
    </message>
    <message>
        <source>MQTT connected, {backlog} waiting</source>
        <translation>MQTT connecté, {backlog} en attente</translation>
    </message>
</context>
<context>
    <name>Notice</name>
    <message>
        <source>nobody is signed in: sign in with your operator id first</source>
        <translation>personne n&apos;est connecté : connectez-vous d&apos;abord avec votre identifiant opérateur</translation>
    </message>
    <message>
        <source>an operator id is needed to sign in</source>
        <translation>un identifiant opérateur est nécessaire pour se connecter</translation>
    </message>
    <message>
        <source>signed in as {operator}</source>
        <translation>connecté en tant que {operator}</translation>
    </message>
    <message>
        <source>confirmed</source>
        <translation>confirmé</translation>
    </message>
    <message>
        <source>an override needs a reason</source>
        <translation>une correction doit avoir un motif</translation>
    </message>
    <message>
        <source>an override to {disposition} needs the supervisor&apos;s PIN</source>
        <translation>une correction vers « {disposition} » nécessite le code du superviseur</translation>
    </message>
    <message>
        <source>override saved: {disposition}</source>
        <translation>correction enregistrée : {disposition}</translation>
    </message>
    <message>
        <source>flagged for the supervisor</source>
        <translation>signalé au superviseur</translation>
    </message>
    <message>
        <source>thresholds updated</source>
        <translation>seuils mis à jour</translation>
    </message>
</context>
<context>
    <name>Reason</name>
    <message>
        <source>camera failed: {error}</source>
        <translation>panne de la caméra : {error}</translation>
    </message>
    <message>
        <source>frame badly exposed (too dark or too bright)</source>
        <translation>image mal exposée (trop sombre ou trop claire)</translation>
    </message>
    <message>
        <source>frame too blurred (sharpness {sharpness:.0f} &lt; {minimum:.0f})</source>
        <translation>image trop floue (netteté {sharpness:.0f} &lt; {minimum:.0f})</translation>
    </message>
    <message>
        <source>no barcode read</source>
        <translation>aucun code-barres lu</translation>
    </message>
    <message>
        <source>no product barcode (GTIN) read</source>
        <translation>aucun code-barres produit (GTIN) lu</translation>
    </message>
    <message>
        <source>no return label (RMA) read</source>
        <translation>aucune étiquette de retour (RMA) lue</translation>
    </message>
    <message>
        <source>RMA {rma} is not in the manifest</source>
        <translation>le RMA {rma} n&apos;est pas dans le manifeste</translation>
    </message>
    <message>
        <source>GTIN {gtin} is {observed}, not the SKU of RMA {rma} ({expected})</source>
        <translation>le GTIN {gtin} correspond à {observed}, pas à l&apos;article du RMA {rma} ({expected})</translation>
    </message>
    <message>
        <source>GTIN {gtin} is {observed}, not the SKU of RMA {rma} ({expected}); declared wrong item received: check what was shipped</source>
        <translation>le GTIN {gtin} correspond à {observed}, pas à l&apos;article du RMA {rma} ({expected}) ; le client déclare avoir reçu un mauvais article : vérifiez ce qui a été expédié</translation>
    </message>
    <message>
        <source>GTIN {gtin} is not the SKU of RMA {rma} ({expected})</source>
        <translation>le GTIN {gtin} ne correspond pas à l&apos;article du RMA {rma} ({expected})</translation>
    </message>
    <message>
        <source>GTIN {gtin} is not the SKU of RMA {rma} ({expected}); declared wrong item received: check what was shipped</source>
        <translation>le GTIN {gtin} ne correspond pas à l&apos;article du RMA {rma} ({expected}) ; le client déclare avoir reçu un mauvais article : vérifiez ce qui a été expédié</translation>
    </message>
    <message>
        <source>GTIN {gtin} is not in the catalogue</source>
        <translation>le GTIN {gtin} n&apos;est pas dans le catalogue</translation>
    </message>
    <message>
        <source>product check failed: {error}</source>
        <translation>échec du contrôle produit : {error}</translation>
    </message>
    <message>
        <source>product not compared with the catalogue (no result)</source>
        <translation>produit non comparé au catalogue (aucun résultat)</translation>
    </message>
    <message>
        <source>looks like {best_sku} (similarity {best:.2f}), not {target} ({similarity:.2f})</source>
        <translation>ressemble à {best_sku} (similarité {best:.2f}), pas à {target} ({similarity:.2f})</translation>
    </message>
    <message>
        <source>looks like {best_sku} (similarity {best:.2f}), not {target} ({similarity:.2f}); declared wrong item received: check what was shipped</source>
        <translation>ressemble à {best_sku} (similarité {best:.2f}), pas à {target} ({similarity:.2f}) ; le client déclare avoir reçu un mauvais article : vérifiez ce qui a été expédié</translation>
    </message>
    <message>
        <source>looks like {best_sku} (similarity {best:.2f}), not the expected product ({similarity:.2f})</source>
        <translation>ressemble à {best_sku} (similarité {best:.2f}), pas au produit attendu ({similarity:.2f})</translation>
    </message>
    <message>
        <source>looks like {best_sku} (similarity {best:.2f}), not the expected product ({similarity:.2f}); declared wrong item received: check what was shipped</source>
        <translation>ressemble à {best_sku} (similarité {best:.2f}), pas au produit attendu ({similarity:.2f}) ; le client déclare avoir reçu un mauvais article : vérifiez ce qui a été expédié</translation>
    </message>
    <message>
        <source>does not look like {target} (similarity {similarity:.2f} &lt; {threshold:.2f})</source>
        <translation>ne ressemble pas à {target} (similarité {similarity:.2f} &lt; {threshold:.2f})</translation>
    </message>
    <message>
        <source>does not look like the expected product (similarity {similarity:.2f} &lt; {threshold:.2f})</source>
        <translation>ne ressemble pas au produit attendu (similarité {similarity:.2f} &lt; {threshold:.2f})</translation>
    </message>
    <message>
        <source>measures {measured} mm, catalogue says {expected} mm</source>
        <translation>mesure {measured} mm, le catalogue indique {expected} mm</translation>
    </message>
    <message>
        <source>the box is empty</source>
        <translation>le carton est vide</translation>
    </message>
    <message>
        <source>defect check failed: {error}</source>
        <translation>échec du contrôle des défauts : {error}</translation>
    </message>
    <message>
        <source>not inspected for defects (no result)</source>
        <translation>défauts non contrôlés (aucun résultat)</translation>
    </message>
    <message>
        <source>{label}, score {score:.2f}: beyond repair</source>
        <translation>{label}, score {score:.2f} : irréparable</translation>
    </message>
    <message>
        <source>{label} on the {where} of the item, score {score:.2f}: beyond repair</source>
        <translation>{label} {where} de l&apos;article, score {score:.2f} : irréparable</translation>
    </message>
    <message>
        <source>{label}, score {score:.2f}: repairable</source>
        <translation>{label}, score {score:.2f} : réparable</translation>
    </message>
    <message>
        <source>{label} on the {where} of the item, score {score:.2f}: repairable</source>
        <translation>{label} {where} de l&apos;article, score {score:.2f} : réparable</translation>
    </message>
    <message>
        <source>no defect found (score {score:.2f})</source>
        <translation>aucun défaut trouvé (score {score:.2f})</translation>
    </message>
    <message>
        <source>returned item is not the one on the RMA</source>
        <translation>l&apos;article retourné n&apos;est pas celui du RMA</translation>
    </message>
    <message>
        <source>returned box is empty</source>
        <translation>le carton retourné est vide</translation>
    </message>
    <message>
        <source>declared unopened, found damaged ({label}, score {score:.2f})</source>
        <translation>déclaré non ouvert, trouvé endommagé ({label}, score {score:.2f})</translation>
    </message>
    <message>
        <source>declared {declared}, no defect found</source>
        <translation>déclaré {declared}, aucun défaut trouvé</translation>
    </message>
    <message>
        <source>declared {declared}: needs a functional check</source>
        <translation>déclaré {declared} : test de fonctionnement nécessaire</translation>
    </message>
    <message>
        <source>not sure enough (confidence {confidence:.2f} &lt; {minimum:.2f})</source>
        <translation>pas assez sûr (confiance {confidence:.2f} &lt; {minimum:.2f})</translation>
    </message>
    <message>
        <source>no evidence</source>
        <translation>aucun élément pour décider</translation>
    </message>
    <message>
        <source>operator {operator} changed {previous} to {new}: {reason}</source>
        <translation>l&apos;opérateur {operator} a changé « {previous} » en « {new} » : {reason}</translation>
    </message>
    <message>
        <source>station overloaded: not inspected, sent to the manual lane</source>
        <translation>station surchargée : article non contrôlé, envoyé sur la voie manuelle</translation>
    </message>
    <message>
        <source>disk full: not inspected, sent to the manual lane</source>
        <translation>disque plein : article non contrôlé, envoyé sur la voie manuelle</translation>
    </message>
</context>
<context>
    <name>Report</name>
    <message>
        <source>chart written to {path}</source>
        <translation>graphique enregistré dans {path}</translation>
    </message>
    <message>
        <source>period</source>
        <translation>période</translation>
    </message>
    <message>
        <source>{first} – {last} UTC</source>
        <translation>du {first} au {last} UTC</translation>
    </message>
    <message>
        <source>no items</source>
        <translation>aucun article</translation>
    </message>
    <message>
        <source>items</source>
        <translation>articles</translation>
    </message>
    <message>
        <source>items / hour</source>
        <translation>articles / heure</translation>
    </message>
    <message>
        <source>no-read rate</source>
        <translation>taux de non-lecture</translation>
    </message>
    <message>
        <source>override rate</source>
        <translation>taux de corrections</translation>
    </message>
    <message>
        <source>late rate</source>
        <translation>taux de retards</translation>
    </message>
    <message>
        <source>lost rate</source>
        <translation>taux de pertes</translation>
    </message>
    <message>
        <source>latency p50</source>
        <translation>délai médian (p50)</translation>
    </message>
    <message>
        <source>latency p95</source>
        <translation>délai p95</translation>
    </message>
    <message>
        <source>{value:.1f} %</source>
        <translation>{value:.1f} %</translation>
    </message>
    <message>
        <source>{value:.1f} ms</source>
        <translation>{value:.1f} ms</translation>
    </message>
    <message>
        <source>{count} ({share})</source>
        <translation>{count} ({share})</translation>
    </message>
    <message>
        <source>{value:.1f}</source>
        <translation>{value:.1f}</translation>
    </message>
    <message>
        <source>{items} items, {rate} per hour worked — no-read {no_read:.1f} %, override {override:.1f} %, late {late:.1f} %, lost {lost:.1f} %</source>
        <translation>{items} articles, {rate} par heure travaillée — non lus {no_read:.1f} %, corrigés {override:.1f} %, en retard {late:.1f} %, perdus {lost:.1f} %</translation>
    </message>
    <message>
        <source>{items} items — no-read {no_read:.1f} %, override {override:.1f} %, late {late:.1f} %, lost {lost:.1f} %</source>
        <translation>{items} articles — non lus {no_read:.1f} %, corrigés {override:.1f} %, en retard {late:.1f} %, perdus {lost:.1f} %</translation>
    </message>
    <message>
        <source>items per hour</source>
        <translation>articles par heure</translation>
    </message>
    <message>
        <source>trigger → decision (ms)</source>
        <translation>détection → décision (ms)</translation>
    </message>
    <message>
        <source>hour (UTC)</source>
        <translation>heure (UTC)</translation>
    </message>
    <message>
        <source>median (p50)</source>
        <translation>médiane (p50)</translation>
    </message>
    <message>
        <source>slowest 5 % (p95)</source>
        <translation>5 % les plus lents (p95)</translation>
    </message>
</context>
<context>
    <name>Where</name>
    <message>
        <source>top left</source>
        <translation>en haut à gauche</translation>
    </message>
    <message>
        <source>top</source>
        <translation>en haut</translation>
    </message>
    <message>
        <source>top right</source>
        <translation>en haut à droite</translation>
    </message>
    <message>
        <source>left</source>
        <translation>à gauche</translation>
    </message>
    <message>
        <source>centre</source>
        <translation>au centre</translation>
    </message>
    <message>
        <source>right</source>
        <translation>à droite</translation>
    </message>
    <message>
        <source>bottom left</source>
        <translation>en bas à gauche</translation>
    </message>
    <message>
        <source>bottom</source>
        <translation>en bas</translation>
    </message>
    <message>
        <source>bottom right</source>
        <translation>en bas à droite</translation>
    </message>
</context>
</TS>
