<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr_FR">
<context>
    <name>AboutPage</name>
    <message>
        <source>not known</source>
        <translation>inconnu</translation>
    </message>
    <message>
        <source>Station</source>
        <translation>Poste</translation>
    </message>
    <message>
        <source>Site</source>
        <translation>Site</translation>
    </message>
    <message>
        <source>Software version</source>
        <translation>Version du logiciel</translation>
    </message>
    <message>
        <source>Settings file</source>
        <translation>Fichier de réglages</translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation>Dossier de données</translation>
    </message>
    <message>
        <source>Models in use</source>
        <translation>Modèles utilisés</translation>
    </message>
    <message>
        <source>Runs on</source>
        <translation>Composant</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>Returns inspection station</source>
        <translation>Poste de contrôle des retours</translation>
    </message>
    <message>
        <source>not known here</source>
        <translation>inconnus ici</translation>
    </message>
    <message>
        <source>could not be read: {problem}</source>
        <translation>illisibles : {problem}</translation>
    </message>
    <message>
        <source>none loaded: items go to manual review</source>
        <translation>aucun chargé : les articles vont en contrôle manuel</translation>
    </message>
    <message>
        <source>{name} {version} (sha256 {digest}…)</source>
        <translation>{name} {version} (sha256 {digest}…)</translation>
    </message>
    <message>
        <source>platform</source>
        <translation>système</translation>
    </message>
    <message>
        <source>libraries</source>
        <translation>bibliothèques</translation>
    </message>
    <message>
        <source>none: the embedded defaults</source>
        <translation>aucun : les réglages par défaut intégrés</translation>
    </message>
</context>
<context>
    <name>CalibrationHealth</name>
    <message>
        <source>Calibration status not reported yet.</source>
        <translation>État de l&apos;étalonnage pas encore connu.</translation>
    </message>
    <message>
        <source>Calibrated on {date}</source>
        <translation>Étalonné le {date}</translation>
    </message>
    <message>
        <source>lens</source>
        <translation>objectif</translation>
    </message>
    <message>
        <source>belt plane</source>
        <translation>plan du tapis</translation>
    </message>
    <message>
        <source>colour</source>
        <translation>couleur</translation>
    </message>
    <message>
        <source>Steps done: {steps}</source>
        <translation>Étapes faites : {steps}</translation>
    </message>
    <message>
        <source>{name}: {value}</source>
        <translation>{name} : {value}</translation>
    </message>
</context>
<context>
    <name>CalibrationHint</name>
    <message>
        <source>only {count} usable views of {seen} (need at least {needed}), {blurred} blurred: retake the blurred views with the board held still and the camera in focus</source>
        <translation>seulement {count} vues utilisables sur {seen} (il en faut au moins {needed}), {blurred} floues : reprenez les vues floues en tenant la mire immobile, la caméra bien au point</translation>
    </message>
    <message>
        <source>only {count} usable views of {seen} (need at least {needed}): use the board printed by « station calibrate board », or fix the [calibration] board keys</source>
        <translation>seulement {count} vues utilisables sur {seen} (il en faut au moins {needed}) : utilisez la mire imprimée par « station calibrate board », ou corrigez les clés board de [calibration]</translation>
    </message>
    <message>
        <source>only {count} usable views of {seen} (need at least {needed}): take at least {needed} sharp views of the board, across the frame and tilted</source>
        <translation>seulement {count} vues utilisables sur {seen} (il en faut au moins {needed}) : prenez au moins {needed} vues nettes de la mire, dans toute l&apos;image et inclinées</translation>
    </message>
    <message>
        <source>{view} {error} px</source>
        <translation>{view} {error} px</translation>
    </message>
    <message>
        <source>reprojection error {rms} px is above {limit} px (worst views: {worst}): retake those views with the board flat and still, or check the board sizes in config</source>
        <translation>erreur de reprojection de {rms} px au-dessus de {limit} px (pires vues : {worst}) : reprenez ces vues avec la mire à plat et immobile, ou vérifiez les dimensions de la mire dans la configuration</translation>
    </message>
    <message>
        <source>the edges</source>
        <translation>vers les bords</translation>
    </message>
    <message>
        <source>the board has covered {coverage} of the frame (need {needed}): bring it to {where}</source>
        <translation>la mire a couvert {coverage} de l&apos;image (il faut {needed}) : amenez-la {where}</translation>
    </message>
    <message>
        <source>all tilted views lean the same way: also tilt the board&apos;s left or right edge away</source>
        <translation>toutes les vues inclinées penchent du même côté : éloignez aussi le bord gauche ou droit de la mire</translation>
    </message>
    <message>
        <source>all tilted views lean the same way: also tilt the board&apos;s top or bottom edge away</source>
        <translation>toutes les vues inclinées penchent du même côté : éloignez aussi le bord haut ou bas de la mire</translation>
    </message>
    <message>
        <source>blurred, not used ({why}): hold the board still</source>
        <translation>floue, non utilisée ({why}) : tenez la mire immobile</translation>
    </message>
    <message>
        <source>board not found: {why}</source>
        <translation>mire introuvable : {why}</translation>
    </message>
    <message>
        <source>{views} of {needed} views kept: show the board in more positions</source>
        <translation>{views} sur {needed} vues gardées : montrez la mire à d&apos;autres endroits</translation>
    </message>
    <message>
        <source>{tilted} tilted views (need {needed}): tilt the board {low}°-{high}° towards each side</source>
        <translation>{tilted} vues inclinées (il en faut {needed}) : inclinez la mire de {low}° à {high}° vers chaque côté</translation>
    </message>
    <message>
        <source>{count} blurred views rejected: hold the board still, check focus</source>
        <translation>{count} vues floues refusées : tenez la mire immobile, vérifiez la mise au point</translation>
    </message>
    <message>
        <source>kept ({corners} corners, tilt {tilt}°)</source>
        <translation>gardée ({corners} coins, inclinaison {tilt}°)</translation>
    </message>
    <message>
        <source>only {corners} corners (need {needed}): show more of the board</source>
        <translation>seulement {corners} coins (il en faut {needed}) : montrez une plus grande partie de la mire</translation>
    </message>
    <message>
        <source>{width}x{height} differs from the first view&apos;s {first_width}x{first_height}: use one camera at one resolution</source>
        <translation>{width}x{height} diffère de la première vue ({first_width}x{first_height}) : utilisez une seule caméra à une seule résolution</translation>
    </message>
    <message>
        <source>same place and angle as a kept view: move the board</source>
        <translation>même place et même angle qu&apos;une vue gardée : déplacez la mire</translation>
    </message>
    <message>
        <source>markers of {dictionary} with ids {ids} that a {squares_x}x{squares_y} board does not have: the printed board is larger or offset — check board_squares_x/y</source>
        <translation>marqueurs {dictionary} de numéros {ids} qu&apos;une mire de {squares_x}x{squares_y} n&apos;a pas : la mire imprimée est plus grande ou décalée — vérifiez board_squares_x/y</translation>
    </message>
    <message>
        <source>{markers} markers of the board but too few chessboard corners: the board is cut off, too small or the square/marker sizes differ — check board_square_mm/board_marker_mm</source>
        <translation>{markers} marqueurs de la mire mais trop peu de coins du damier : la mire est coupée, trop petite, ou la taille des cases ou des marqueurs diffère — vérifiez board_square_mm/board_marker_mm</translation>
    </message>
    <message>
        <source>a board with {found} markers, not {expected}: print the board from « station calibrate board » or set [calibration] board_dictionary = &quot;{found}&quot;</source>
        <translation>une mire à marqueurs {found}, pas {expected} : imprimez la mire avec « station calibrate board » ou réglez [calibration] board_dictionary = &quot;{found}&quot;</translation>
    </message>
    <message>
        <source>no markers at all: the board is not in view, too small, too dark or blurred</source>
        <translation>aucun marqueur : la mire est hors champ, trop petite, trop sombre ou floue</translation>
    </message>
    <message>
        <source>no frame from the camera yet: check the camera&apos;s status below, then try again</source>
        <translation>pas encore d&apos;image de la caméra : vérifiez son état ci-dessous, puis réessayez</translation>
    </message>
    <message>
        <source>too dark (mean grey {mean} &lt; {minimum}): more light or exposure</source>
        <translation>trop sombre (gris moyen {mean} &lt; {minimum}) : plus de lumière ou d&apos;exposition</translation>
    </message>
    <message>
        <source>over-exposed ({clipped} of pixels burnt out, mean grey {mean}): less light or exposure</source>
        <translation>surexposée ({clipped} des pixels brûlés, gris moyen {mean}) : moins de lumière ou d&apos;exposition</translation>
    </message>
    <message>
        <source>motion blur (detail along one direction {ratio} of the other): shorter exposure or slower belt</source>
        <translation>flou de bougé (détail dans une direction à {ratio} de l&apos;autre) : exposition plus courte ou tapis plus lent</translation>
    </message>
    <message>
        <source>out of focus (sharpness {sharpness} &lt; {minimum}): refocus or clean the lens</source>
        <translation>mise au point floue (netteté {sharpness} &lt; {minimum}) : refaites la mise au point ou nettoyez l&apos;objectif</translation>
    </message>
</context>
<context>
    <name>CalibrationPage</name>
    <message>
        <source>lens</source>
        <translation>objectif</translation>
    </message>
    <message>
        <source>plane</source>
        <translation>plan</translation>
    </message>
    <message>
        <source>colour</source>
        <translation>couleur</translation>
    </message>
    <message>
        <source>Saved {sections} to {file} (kept {kept} from the file).</source>
        <translation>{sections} enregistré dans {file} ({kept} du fichier gardé).</translation>
    </message>
    <message>
        <source>Saved {sections} to {file}.</source>
        <translation>{sections} enregistré dans {file}.</translation>
    </message>
    <message>
        <source>The old file was for {width}x{height}: its sections were dropped.</source>
        <translation>L&apos;ancien fichier était pour {width}x{height} : ses sections ont été supprimées.</translation>
    </message>
    <message>
        <source>The plane in the file was measured before the lens was calibrated: redo the plane step.</source>
        <translation>Le plan du fichier a été mesuré avant l&apos;étalonnage de l&apos;objectif : refaites l&apos;étape du plan.</translation>
    </message>
    <message>
        <source>The station uses it from its next start.</source>
        <translation>Le poste l&apos;utilise à son prochain démarrage.</translation>
    </message>
    <message>
        <source>Waiting for the camera…</source>
        <translation>En attente de la caméra…</translation>
    </message>
    <message>
        <source>To calibrate the camera, run « station calibrate » with the calibration board in view; the wizard appears here when the station gives the window its camera.</source>
        <translation>Pour étalonner la caméra, lancez « station calibrate » avec la mire d&apos;étalonnage en vue ; l&apos;assistant apparaît ici quand le poste donne sa caméra à la fenêtre.</translation>
    </message>
    <message>
        <source>Waiting for the camera… (the live view runs while this page is shown)</source>
        <translation>En attente de la caméra… (l&apos;image en direct tourne tant que cette page est affichée)</translation>
    </message>
    <message>
        <source>Save to {file}</source>
        <translation>Enregistrer dans {file}</translation>
    </message>
    <message>
        <source>Calibrating…</source>
        <translation>Étalonnage en cours…</translation>
    </message>
    <message>
        <source>Measuring the plane…</source>
        <translation>Mesure du plan en cours…</translation>
    </message>
    <message>
        <source>The patch « {patch} » is not x,y,w,h: give four whole numbers in pixels, e.g. 40,60,80,80</source>
        <translation>La zone « {patch} » n&apos;est pas au format x,y,l,h : donnez quatre nombres entiers en pixels, par exemple 40,60,80,80</translation>
    </message>
    <message>
        <source>Measuring the colour…</source>
        <translation>Mesure de la couleur en cours…</translation>
    </message>
    <message>
        <source>Nothing calibrated yet: calibrate the camera, the plane or the colour first.</source>
        <translation>Rien n&apos;est encore étalonné : étalonnez d&apos;abord la caméra, le plan ou la couleur.</translation>
    </message>
    <message>
        <source>The steps were done at different camera resolutions: redo them at one resolution.</source>
        <translation>Les étapes ont été faites à des résolutions de caméra différentes : refaites-les à une seule résolution.</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Enregistrement…</translation>
    </message>
    <message>
        <source>Not calibrated.</source>
        <translation>Non étalonné.</translation>
    </message>
    <message>
        <source>Plane not measured.</source>
        <translation>Plan non mesuré.</translation>
    </message>
    <message>
        <source>Colour not measured.</source>
        <translation>Couleur non mesurée.</translation>
    </message>
    <message>
        <source>Not saved.</source>
        <translation>Non enregistré.</translation>
    </message>
    <message>
        <source>The view could not be judged: {problem}</source>
        <translation>La vue n&apos;a pas pu être jugée : {problem}</translation>
    </message>
    <message>
        <source>Calibration refused: {problem}</source>
        <translation>Étalonnage refusé : {problem}</translation>
    </message>
    <message>
        <source>Plane measurement refused: {problem}</source>
        <translation>Mesure du plan refusée : {problem}</translation>
    </message>
    <message>
        <source>Colour measurement refused: {problem}</source>
        <translation>Mesure de la couleur refusée : {problem}</translation>
    </message>
    <message>
        <source>Saving refused: {problem}</source>
        <translation>Enregistrement refusé : {problem}</translation>
    </message>
    <message>
        <source>Refused: {problem}</source>
        <translation>Refusé : {problem}</translation>
    </message>
    <message>
        <source>No frame from the camera: check its status below.</source>
        <translation>Aucune image de la caméra : vérifiez son état ci-dessous.</translation>
    </message>
    <message>
        <source>The live view failed: {problem}</source>
        <translation>L&apos;image en direct a échoué : {problem}</translation>
    </message>
</context>
<context>
    <name>CalibrationSide</name>
    <message>
        <source>left</source>
        <translation>gauche</translation>
    </message>
    <message>
        <source>right</source>
        <translation>droite</translation>
    </message>
    <message>
        <source>top</source>
        <translation>haut</translation>
    </message>
    <message>
        <source>bottom</source>
        <translation>bas</translation>
    </message>
</context>
<context>
    <name>CalibrationWords</name>
    <message>
        <source>top left</source>
        <translation>en haut à gauche</translation>
    </message>
    <message>
        <source>top centre</source>
        <translation>en haut au centre</translation>
    </message>
    <message>
        <source>top right</source>
        <translation>en haut à droite</translation>
    </message>
    <message>
        <source>middle left</source>
        <translation>au milieu à gauche</translation>
    </message>
    <message>
        <source>centre</source>
        <translation>au centre</translation>
    </message>
    <message>
        <source>middle right</source>
        <translation>au milieu à droite</translation>
    </message>
    <message>
        <source>bottom left</source>
        <translation>en bas à gauche</translation>
    </message>
    <message>
        <source>bottom centre</source>
        <translation>en bas au centre</translation>
    </message>
    <message>
        <source>bottom right</source>
        <translation>en bas à droite</translation>
    </message>
    <message>
        <source>View {number}</source>
        <translation>Vue {number}</translation>
    </message>
</context>
<context>
    <name>CameraProblem</name>
    <message>
        <source>no video device &apos;{path}&apos; on this PC: unplugged, or it has another number</source>
        <translation>pas de caméra &apos;{path}&apos; sur ce PC : débranchée, ou elle a pris un autre numéro</translation>
    </message>
    <message>
        <source>camera &apos;{device}&apos; could not be opened: this user may not use {path} (add it to the video group)</source>
        <translation>la caméra &apos;{device}&apos; n&apos;a pas pu être ouverte : cet utilisateur n&apos;a pas le droit d&apos;utiliser {path} (ajoutez-le au groupe video)</translation>
    </message>
    <message>
        <source>camera &apos;{device}&apos; could not be opened: another program may hold it, or it is no camera</source>
        <translation>la caméra &apos;{device}&apos; n&apos;a pas pu être ouverte : un autre programme la tient peut-être, ou ce n&apos;est pas une caméra</translation>
    </message>
    <message>
        <source>camera &apos;{device}&apos; stopped delivering frames: check the cable</source>
        <translation>la caméra &apos;{device}&apos; n&apos;envoie plus d&apos;images : vérifiez le câble</translation>
    </message>
    <message>
        <source>stream {url} did not answer: check the address, the camera&apos;s power and that port {port} is open</source>
        <translation>le flux {url} n&apos;a pas répondu : vérifiez l&apos;adresse, l&apos;alimentation de la caméra et que le port {port} est ouvert</translation>
    </message>
    <message>
        <source>stream {url} answered but sent no picture: check the path and the user name and password in the address (over UDP the pictures also need a way in through the firewall: try transport tcp)</source>
        <translation>le flux {url} a répondu mais n&apos;envoie pas d&apos;image : vérifiez le chemin, le nom d&apos;utilisateur et le mot de passe dans l&apos;adresse (en UDP les images doivent aussi passer le pare-feu : essayez transport tcp)</translation>
    </message>
    <message>
        <source>stream {url} answered but sent no picture: check the path and the user name and password in the address</source>
        <translation>le flux {url} a répondu mais n&apos;envoie pas d&apos;image : vérifiez le chemin, le nom d&apos;utilisateur et le mot de passe dans l&apos;adresse</translation>
    </message>
    <message>
        <source>stream {url} ended</source>
        <translation>le flux {url} s&apos;est arrêté</translation>
    </message>
    <message>
        <source>{camera} stopped answering: check its power and network cable, and that no other program took it ({why})</source>
        <translation>{camera} ne répond plus : vérifiez son alimentation et son câble réseau, et qu&apos;aucun autre programme ne l&apos;a prise ({why})</translation>
    </message>
    <message>
        <source>no new frame for {seconds} s (camera frozen): check its power and network, or, for a camera slower than that, raise frozen_after_s</source>
        <translation>aucune nouvelle image depuis {seconds} s (caméra figée) : vérifiez son alimentation et son réseau, ou, pour une caméra plus lente que cela, augmentez frozen_after_s</translation>
    </message>
    <message>
        <source>{camera} could not be opened: check its power and network cable, that it is on this PC&apos;s subnet (`arv-tool-0.8` lists the cameras it sees) and that no other program holds it ({why})</source>
        <translation>{camera} n&apos;a pas pu être ouverte : vérifiez son alimentation et son câble réseau, qu&apos;elle est sur le sous-réseau de ce PC (`arv-tool-0.8` liste les caméras qu&apos;il voit) et qu&apos;aucun autre programme ne la tient ({why})</translation>
    </message>
    <message>
        <source>{camera} is held by another program: close the vendor&apos;s viewer, arv-viewer-0.8 or any other program or station using it</source>
        <translation>{camera} est tenue par un autre programme : fermez le logiciel du fabricant, arv-viewer-0.8 ou tout autre programme ou poste qui l&apos;utilise</translation>
    </message>
    <message>
        <source>{camera} refused its settings: check the section of camera &apos;{name}&apos; ({why})</source>
        <translation>{camera} a refusé ses réglages : vérifiez la section de la caméra &apos;{name}&apos; ({why})</translation>
    </message>
    <message>
        <source>{camera} has no pixel format &apos;{format}&apos;: it offers {offered}; set pixel_format of camera &apos;{name}&apos; to one of them</source>
        <translation>{camera} n&apos;a pas de format de pixel &apos;{format}&apos; (formats proposés : {offered}) : choisissez l&apos;un d&apos;eux pour pixel_format de la caméra &apos;{name}&apos;</translation>
    </message>
    <message>
        <source>{camera} sends {format}, which cannot be turned into a colour image here: set pixel_format of camera &apos;{name}&apos; to one of {offered}</source>
        <translation>{camera} envoie du {format}, qui ne peut pas être converti en image couleur ici : choisissez pour pixel_format de la caméra &apos;{name}&apos; l&apos;un de ces formats : {offered}</translation>
    </message>
    <message>
        <source>{camera} has no software trigger: set trigger_mode of camera &apos;{name}&apos; to free-run</source>
        <translation>{camera} n&apos;a pas de déclenchement logiciel : réglez trigger_mode de la caméra &apos;{name}&apos; sur free-run</translation>
    </message>
    <message>
        <source>{camera} gave no image stream: check that no other program is streaming</source>
        <translation>{camera} n&apos;a pas fourni de flux d&apos;images : vérifiez qu&apos;aucun autre programme ne reçoit déjà ses images</translation>
    </message>
    <message>
        <source>{camera} answers but none of its frames arrived since it was opened: check that the firewall lets in UDP from the camera and that it streams to this PC (docs/cameras.md, &quot;Network&quot;)</source>
        <translation>{camera} répond, mais aucune de ses images n&apos;est arrivée depuis son ouverture : vérifiez que le pare-feu laisse entrer l&apos;UDP venant de la caméra et qu&apos;elle envoie ses images à ce PC (docs/cameras.md, &quot;Network&quot;)</translation>
    </message>
    <message>
        <source>GigE Vision support is not installed: install the `gige` extra and Debian&apos;s gir1.2-aravis-0.8 (see docs/cameras.md) ({why})</source>
        <translation>la prise en charge GigE Vision n&apos;est pas installée : installez l&apos;extra `gige` et le paquet Debian gir1.2-aravis-0.8 (voir docs/cameras.md) ({why})</translation>
    </message>
    <message>
        <source>stream {url} stopped sending pictures: check the camera&apos;s power and the network</source>
        <translation>le flux {url} n&apos;envoie plus d&apos;images : vérifiez l&apos;alimentation de la caméra et le réseau</translation>
    </message>
    <message>
        <source>video file {path} not found: check [camera].device</source>
        <translation>le fichier vidéo {path} est introuvable : vérifiez [camera].device</translation>
    </message>
    <message>
        <source>video file {path} cannot be decoded: convert it to MP4/H.264 or MJPEG</source>
        <translation>le fichier vidéo {path} ne peut pas être décodé : convertissez-le en MP4/H.264 ou MJPEG</translation>
    </message>
    <message>
        <source>video file {path} has no readable frame</source>
        <translation>le fichier vidéo {path} ne contient aucune image lisible</translation>
    </message>
    <message>
        <source>image folder {folder} not found: check [camera].device</source>
        <translation>le dossier d&apos;images {folder} est introuvable : vérifiez [camera].device</translation>
    </message>
    <message>
        <source>image folder {folder} holds no images ({suffixes})</source>
        <translation>le dossier d&apos;images {folder} ne contient aucune image ({suffixes})</translation>
    </message>
    <message>
        <source>no image in {folder} could be read</source>
        <translation>aucune image de {folder} n&apos;a pu être lue</translation>
    </message>
    <message>
        <source>GigE camera {id}</source>
        <translation>la caméra GigE {id}</translation>
    </message>
    <message>
        <source>the first GigE camera found</source>
        <translation>la première caméra GigE trouvée</translation>
    </message>
    <message>
        <source>none</source>
        <translation>aucun</translation>
    </message>
</context>
<context>
    <name>CameraView</name>
    <message>
        <source>defect</source>
        <translation>défaut</translation>
    </message>
    <message>
        <source>Waiting for the first item…</source>
        <translation>En attente du premier article…</translation>
    </message>
    <message>
        <source>No picture of this item</source>
        <translation>Pas d&apos;image de cet article</translation>
    </message>
    <message>
        <source>Area inspected</source>
        <translation>Zone contrôlée</translation>
    </message>
</context>
<context>
    <name>ColourStep</name>
    <message>
        <source>3 · Colour (grey patch)</source>
        <translation>3 · Couleur (carte grise)</translation>
    </message>
    <message>
        <source>x,y,w,h (pixels)</source>
        <translation>x,y,l,h (pixels)</translation>
    </message>
    <message>
        <source>The grey patch&apos;s left, top, width and height in frame pixels; it is outlined in yellow on the live view</source>
        <translation>Gauche, haut, largeur et hauteur de la carte grise en pixels de l&apos;image ; elle est entourée de jaune sur l&apos;image en direct</translation>
    </message>
    <message>
        <source>The grey card&apos;s lightness (18 % grey card: L* 50)</source>
        <translation>Luminosité de la carte grise (carte grise 18 % : L* 50)</translation>
    </message>
    <message>
        <source>Measure the colour</source>
        <translation>Mesurer la couleur</translation>
    </message>
    <message>
        <source>A neutral grey card where the camera always sees it, under the station&apos;s lamp.</source>
        <translation>Une carte grise neutre, toujours visible par la caméra, sous l&apos;éclairage du poste.</translation>
    </message>
    <message>
        <source>Gains B {b} G {g} R {r} ({stops} stops). Save to keep it.</source>
        <translation>Gains B {b} V {g} R {r} ({stops} IL). Enregistrez pour le garder.</translation>
    </message>
</context>
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
    <name>HandMoveBar</name>
    <message>
        <source>Moved it</source>
        <translation>C&apos;est déplacé</translation>
    </message>
    <message>
        <source>{instruction} ({count} more to move)</source>
        <translation>{instruction} (encore {count} à déplacer)</translation>
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
        <source>{problem}. Items go to the manual lane until it is back; check the controller&apos;s power and its cable or network.</source>
        <translation>{problem}. Les articles partent sur la voie manuelle jusqu&apos;à son retour ; vérifiez l&apos;alimentation de l&apos;automate et son câble ou son réseau.</translation>
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
        <source>conveyor&apos;s default lane is not the manual lane</source>
        <translation>la voie par défaut du convoyeur n&apos;est pas la voie manuelle</translation>
    </message>
    <message>
        <source>Items the station sends no DIVERT for go to lane {lane}, unchecked. Set the controller&apos;s default lane to the manual lane ({manual}).</source>
        <translation>Les articles sans ordre DIVERT de la station partent sur la voie {lane} sans contrôle. Réglez la voie par défaut de l&apos;automate sur la voie manuelle ({manual}).</translation>
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
        <source>{problem}; trying again in {seconds} s</source>
        <translation>{problem} ; nouvel essai dans {seconds} s</translation>
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
        <source>No calibration file yet ({file}): item sizes are not checked until the camera is calibrated, on the Calibration page (F4) or with `station calibrate`.</source>
        <translation>Pas encore de fichier d&apos;étalonnage ({file}) : les dimensions des articles ne sont pas contrôlées tant que la caméra n&apos;est pas étalonnée, depuis la page Étalonnage (F4) ou avec `station calibrate`.</translation>
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
        <source>The data folder {folder} has {free_mb:.1f} MB free, below the {stop_mb} MB the station keeps in reserve ([storage].stop_free_disk_mb): items go to the manual lane uninspected. Free space on that disk (old images, logs) or move [station].data_dir to a larger one.</source>
        <translation>Le dossier de données {folder} n&apos;a plus que {free_mb:.1f} Mo libres, sous les {stop_mb} Mo que le poste garde en réserve ([storage].stop_free_disk_mb) : les articles partent en contrôle manuel sans inspection. Libérez de la place sur ce disque (anciennes images, journaux) ou déplacez [station].data_dir vers un disque plus grand.</translation>
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
        <source>The new conformity model has no reference for these SKUs ({count}): {skus} — enrol them again with `station enroll SKU PICTURE... --crop item`.</source>
        <translation>Le nouveau modèle de conformité n&apos;a pas de référence pour ces SKU ({count}) : {skus} — enregistrez-les à nouveau avec `station enroll SKU PICTURE... --crop item`.</translation>
    </message>
    <message>
        <source>No reference images enrolled: items go to manual review until they are. Enrol each SKU with `station enroll SKU PICTURE... --crop item`; items confirmed at the bench add their own.</source>
        <translation>Aucune image de référence enregistrée : les articles partent en contrôle manuel en attendant. Enregistrez chaque SKU avec `station enroll SKU PICTURE... --crop item` ; les articles validés au poste ajoutent la leur.</translation>
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
    <message>
        <source>could not start in bench mode (the log says why): running in conveyor mode as before, and config.toml says conveyor again</source>
        <translation>démarrage impossible en mode poste manuel (le journal dit pourquoi) : le poste tourne en mode convoyeur comme avant, et config.toml indique de nouveau convoyeur</translation>
    </message>
    <message>
        <source>could not start in conveyor mode (the log says why): running in bench mode as before, and config.toml says bench again</source>
        <translation>démarrage impossible en mode convoyeur (le journal dit pourquoi) : le poste tourne en mode poste manuel comme avant, et config.toml indique de nouveau poste manuel</translation>
    </message>
</context>
<context>
    <name>InspectPage</name>
    <message>
        <source>Confirm</source>
        <translation>Confirmer</translation>
    </message>
    <message>
        <source>Confirm the verdict (Enter)</source>
        <translation>Confirmer le verdict (Entrée)</translation>
    </message>
    <message>
        <source>Override</source>
        <translation>Corriger</translation>
    </message>
    <message>
        <source>Send the item elsewhere, with a reason (keys 1–5)</source>
        <translation>Envoyer l&apos;article ailleurs, avec un motif (touches 1–5)</translation>
    </message>
    <message>
        <source>Re-inspect</source>
        <translation>Réinspecter</translation>
    </message>
    <message>
        <source>Inspect the item again (R)</source>
        <translation>Contrôler l&apos;article à nouveau (R)</translation>
    </message>
    <message>
        <source>Supervisor</source>
        <translation>Superviseur</translation>
    </message>
    <message>
        <source>Ask a supervisor to look at it (S)</source>
        <translation>Demander l&apos;avis d&apos;un superviseur (S)</translation>
    </message>
    <message>
        <source>Keys: Enter confirm · 1–5 override · R re-inspect · S supervisor · O open · Ctrl+F search</source>
        <translation>Touches : Entrée confirmer · 1–5 corriger · R réinspecter · S superviseur · O ouvrir · Ctrl+F chercher</translation>
    </message>
    <message>
        <source>Keys: Enter confirm · 1–5 override · R re-inspect · S supervisor · T trigger · O open · Ctrl+F search</source>
        <translation>Touches : Entrée confirmer · 1–5 corriger · R réinspecter · S superviseur · T déclencher · O ouvrir · Ctrl+F chercher</translation>
    </message>
    <message>
        <source>Keys: Enter confirm · 1–5 override · R re-inspect · S supervisor · T trigger · O open · Ctrl+F search · or scan a code</source>
        <translation>Touches : Entrée confirmer · 1–5 corriger · R réinspecter · S superviseur · T déclencher · O ouvrir · Ctrl+F chercher · ou scannez un code</translation>
    </message>
    <message>
        <source>Live: place the item, then scan it or press T</source>
        <translation>En direct : posez l&apos;article, puis scannez-le ou appuyez sur T</translation>
    </message>
    <message>
        <source>No live picture from the camera</source>
        <translation>Pas d&apos;image en direct de la caméra</translation>
    </message>
    <message>
        <source>{problem}: the picture below is not live</source>
        <translation>{problem} : l&apos;image ci-dessous n&apos;est pas en direct</translation>
    </message>
</context>
<context>
    <name>Intent</name>
    <message>
        <source>Confirm</source>
        <translation>Validation</translation>
    </message>
    <message>
        <source>Override</source>
        <translation>Correction</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>Annulation</translation>
    </message>
    <message>
        <source>Sign-in</source>
        <translation>Connexion</translation>
    </message>
    <message>
        <source>Call for a supervisor</source>
        <translation>Appel au superviseur</translation>
    </message>
    <message>
        <source>Re-inspection</source>
        <translation>Réinspection</translation>
    </message>
    <message>
        <source>Trigger</source>
        <translation>Déclenchement</translation>
    </message>
    <message>
        <source>Scan</source>
        <translation>Scan</translation>
    </message>
    <message>
        <source>Change of mode</source>
        <translation>Changement de mode</translation>
    </message>
    <message>
        <source>Saving the thresholds</source>
        <translation>Enregistrement des seuils</translation>
    </message>
</context>
<context>
    <name>IntrinsicsStep</name>
    <message>
        <source>1 · Camera: show the board all over the frame, flat and tilted</source>
        <translation>1 · Caméra : montrez la mire partout dans l&apos;image, à plat et inclinée</translation>
    </message>
    <message>
        <source>Show the board to the camera and press Space to capture a view.</source>
        <translation>Montrez la mire à la caméra et appuyez sur Espace pour prendre une vue.</translation>
    </message>
    <message>
        <source>Capture view (Space)</source>
        <translation>Prendre une vue (Espace)</translation>
    </message>
    <message>
        <source>Calibrate</source>
        <translation>Étalonner</translation>
    </message>
    <message>
        <source>Enabled once the views cover the frame and are tilted enough</source>
        <translation>Disponible quand les vues couvrent l&apos;image et sont assez inclinées</translation>
    </message>
    <message>
        <source>Start over</source>
        <translation>Recommencer</translation>
    </message>
    <message>
        <source>Error of each view in pixels, worst first</source>
        <translation>Erreur de chaque vue en pixels, la pire d&apos;abord</translation>
    </message>
    <message>
        <source>{views} of {needed} views kept · frame covered {coverage} · ready to calibrate</source>
        <translation>{views} sur {needed} vues gardées · image couverte à {coverage} · prêt à étalonner</translation>
    </message>
    <message>
        <source>{views} of {needed} views kept · frame covered {coverage}</source>
        <translation>{views} sur {needed} vues gardées · image couverte à {coverage}</translation>
    </message>
    <message>
        <source>none yet</source>
        <translation>aucune pour l&apos;instant</translation>
    </message>
    <message>
        <source>Tilted views: {count} (far edge towards: {directions})</source>
        <translation>Vues inclinées : {count} (bord éloigné vers : {directions})</translation>
    </message>
    <message>
        <source>Blurred views rejected: {blurred} · without the board: {no_board} · sharpness needed ≥ {sharpness}</source>
        <translation>Vues floues refusées : {blurred} · sans la mire : {no_board} · netteté demandée ≥ {sharpness}</translation>
    </message>
    <message>
        <source>Enough views: press Calibrate (more views across the frame do no harm).</source>
        <translation>Assez de vues : appuyez sur Étalonner (d&apos;autres vues dans toute l&apos;image ne gênent pas).</translation>
    </message>
    <message>
        <source>• {hint}.</source>
        <translation>• {hint}.</translation>
    </message>
    <message>
        <source>Views cleared: show the board and press Space.</source>
        <translation>Vues effacées : montrez la mire et appuyez sur Espace.</translation>
    </message>
    <message>
        <source>{view}: {finding}</source>
        <translation>{view} : {finding}</translation>
    </message>
    <message>
        <source>RMS reprojection error {rms} px (limit {limit}) · fx {fx} fy {fy} cx {cx} cy {cy} px · {views} views. Save to keep it, then redo the plane.</source>
        <translation>Erreur de reprojection RMS {rms} px (limite {limit}) · fx {fx} fy {fy} cx {cx} cy {cy} px · {views} vues. Enregistrez pour le garder, puis refaites le plan.</translation>
    </message>
    <message>
        <source>{view}: {error} px</source>
        <translation>{view} : {error} px</translation>
    </message>
</context>
<context>
    <name>ItemCard</name>
    <message>
        <source>Not sent to a lane</source>
        <translation>Envoyé dans aucune voie</translation>
    </message>
    <message>
        <source>On the bench: not sent to a lane</source>
        <translation>Au poste manuel : pas de voie</translation>
    </message>
    <message>
        <source>LATE: went to lane {lane} ({name})</source>
        <translation>EN RETARD : parti en voie {lane} ({name})</translation>
    </message>
    <message>
        <source>LATE: went to lane {lane}</source>
        <translation>EN RETARD : parti en voie {lane}</translation>
    </message>
    <message>
        <source>LOST on the belt (lane {lane}, {name})</source>
        <translation>PERDU sur le tapis (voie {lane}, {name})</translation>
    </message>
    <message>
        <source>LOST on the belt (lane {lane})</source>
        <translation>PERDU sur le tapis (voie {lane})</translation>
    </message>
    <message>
        <source>Went down lane {lane} ({name})</source>
        <translation>Passé en voie {lane} ({name})</translation>
    </message>
    <message>
        <source>Went down lane {lane}</source>
        <translation>Passé en voie {lane}</translation>
    </message>
    <message>
        <source>Sent to lane {lane} ({name})</source>
        <translation>Envoyé en voie {lane} ({name})</translation>
    </message>
    <message>
        <source>Sent to lane {lane}</source>
        <translation>Envoyé en voie {lane}</translation>
    </message>
    <message>
        <source>unopened</source>
        <translation>non ouvert</translation>
    </message>
    <message>
        <source>defective</source>
        <translation>défectueux</translation>
    </message>
    <message>
        <source>damaged</source>
        <translation>endommagé</translation>
    </message>
    <message>
        <source>wrong item</source>
        <translation>mauvais article</translation>
    </message>
    <message>
        <source>no longer needed</source>
        <translation>plus nécessaire</translation>
    </message>
    <message>
        <source>Customer said: {reason}</source>
        <translation>Motif du client : {reason}</translation>
    </message>
    <message>
        <source>{value}%</source>
        <translation>{value} %</translation>
    </message>
    <message>
        <source>manual</source>
        <translation>manuelle</translation>
    </message>
    <message>
        <source>Fraud review</source>
        <translation>Fraude possible : à examiner</translation>
    </message>
    <message>
        <source>Move by hand</source>
        <translation>À déplacer à la main</translation>
    </message>
    <message>
        <source>RMA {rma}</source>
        <translation>RMA {rma}</translation>
    </message>
    <message>
        <source>GTIN {gtin}</source>
        <translation>GTIN {gtin}</translation>
    </message>
    <message>
        <source>Code {text}</source>
        <translation>Code {text}</translation>
    </message>
    <message>
        <source>Grade</source>
        <translation>Note</translation>
    </message>
    <message>
        <source>RMA –</source>
        <translation>RMA –</translation>
    </message>
    <message>
        <source>Expected –</source>
        <translation>Attendu –</translation>
    </message>
    <message>
        <source>Seen –</source>
        <translation>Vu –</translation>
    </message>
    <message>
        <source>No catalogue picture</source>
        <translation>Pas d&apos;image catalogue</translation>
    </message>
    <message>
        <source>Expected {sku}</source>
        <translation>Attendu {sku}</translation>
    </message>
    <message>
        <source>Seen {sku} ✔</source>
        <translation>Vu {sku} ✔</translation>
    </message>
    <message>
        <source>No item yet</source>
        <translation>Aucun article</translation>
    </message>
    <message>
        <source>Waiting for the first item</source>
        <translation>En attente du premier article</translation>
    </message>
    <message>
        <source>Condition grade: A as new, B minor wear, C needs repair, D not resellable or not assessed</source>
        <translation>Note d&apos;état : A comme neuf, B légère usure, C à réparer, D invendable ou non évalué</translation>
    </message>
    <message>
        <source>Overridden by {operator}</source>
        <translation>Corrigé par {operator}</translation>
    </message>
    <message>
        <source>RMA – (none read)</source>
        <translation>RMA – (aucun lu)</translation>
    </message>
    <message>
        <source>Seen {sku}: NOT THE SAME</source>
        <translation>Vu {sku} : PAS LE MÊME</translation>
    </message>
    <message>
        <source>Seen {sku}</source>
        <translation>Vu {sku}</translation>
    </message>
    <message>
        <source>Catalogue picture of the expected product</source>
        <translation>Image catalogue du produit attendu</translation>
    </message>
    <message>
        <source>Catalogue picture missing: {file}</source>
        <translation>Image catalogue manquante : {file}</translation>
    </message>
    <message>
        <source>The item as the camera saw it</source>
        <translation>L&apos;article vu par la caméra</translation>
    </message>
    <message>
        <source>No picture</source>
        <translation>Pas d&apos;image</translation>
    </message>
    <message>
        <source>Confidence {percent}</source>
        <translation>Confiance {percent}</translation>
    </message>
    <message>
        <source>defect score {score}</source>
        <translation>score de défaut {score}</translation>
    </message>
    <message>
        <source>defect score {score} ({label})</source>
        <translation>score de défaut {score} ({label})</translation>
    </message>
    <message>
        <source>similarity {score}</source>
        <translation>ressemblance {score}</translation>
    </message>
    <message>
        <source>Operator&apos;s reason: {reason}</source>
        <translation>Motif de l&apos;opérateur : {reason}</translation>
    </message>
    <message>
        <source>No reasons recorded</source>
        <translation>Aucun motif enregistré</translation>
    </message>
</context>
<context>
    <name>ItemDialog</name>
    <message>
        <source>Revision</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>When</source>
        <translation>Quand</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>Qui</translation>
    </message>
    <message>
        <source>What</source>
        <translation>Quoi</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>Pourquoi</translation>
    </message>
    <message>
        <source>Lost on the belt</source>
        <translation>Perdu sur le tapis</translation>
    </message>
    <message>
        <source>Too late for its lane: the conveyor sent it to manual</source>
        <translation>Trop tard pour sa voie : le convoyeur l&apos;a envoyé en voie manuelle</translation>
    </message>
    <message>
        <source>Conveyor confirmed lane {lane}</source>
        <translation>Le convoyeur a confirmé la voie {lane}</translation>
    </message>
    <message>
        <source>Sent to lane {lane}</source>
        <translation>Envoyé en voie {lane}</translation>
    </message>
    <message>
        <source>Not routed</source>
        <translation>Pas aiguillé</translation>
    </message>
    <message>
        <source>Inspected: grade {grade}, {disposition}</source>
        <translation>Contrôlé : note {grade}, {disposition}</translation>
    </message>
    <message>
        <source>station</source>
        <translation>poste</translation>
    </message>
    <message>
        <source>Overridden to {disposition}</source>
        <translation>Corrigé vers {disposition}</translation>
    </message>
    <message>
        <source>{reason} — {hand_move}</source>
        <translation>{reason} — {hand_move}</translation>
    </message>
    <message>
        <source>Confirmed: {disposition}</source>
        <translation>Confirmé : {disposition}</translation>
    </message>
    <message>
        <source>Overridden to {disposition}, approved with the supervisor&apos;s PIN</source>
        <translation>Corrigé vers {disposition}, approuvé avec le code PIN du superviseur</translation>
    </message>
    <message>
        <source>Supervisor asked to look</source>
        <translation>Avis du superviseur demandé</translation>
    </message>
    <message>
        <source>Customer&apos;s personal data erased</source>
        <translation>Données personnelles du client effacées</translation>
    </message>
    <message>
        <source>conveyor</source>
        <translation>convoyeur</translation>
    </message>
    <message>
        <source>Item {rma}</source>
        <translation>Article {rma}</translation>
    </message>
    <message>
        <source>without RMA</source>
        <translation>sans RMA</translation>
    </message>
    <message>
        <source>No image kept for this item (deleted by retention, or never stored).</source>
        <translation>Aucune image gardée pour cet article (effacée après la durée de conservation, ou jamais enregistrée).</translation>
    </message>
    <message>
        <source>Overridden by {operator}: {reason}</source>
        <translation>Corrigé par {operator} : {reason}</translation>
    </message>
    <message>
        <source>Loading history…</source>
        <translation>Chargement de l&apos;historique…</translation>
    </message>
    <message>
        <source>History is not available here.</source>
        <translation>L&apos;historique n&apos;est pas disponible ici.</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Historique</translation>
    </message>
    <message>
        <source>Verdict JSON</source>
        <translation>Verdict (JSON)</translation>
    </message>
    <message>
        <source>Override… (O)</source>
        <translation>Corriger… (O)</translation>
    </message>
    <message>
        <source>Close (Esc)</source>
        <translation>Fermer (Échap)</translation>
    </message>
    <message>
        <source>History could not be read: {problem}</source>
        <translation>Historique illisible : {problem}</translation>
    </message>
    <message>
        <source>History ({count} revisions, oldest first)</source>
        <translation>Historique ({count} versions, la plus ancienne d&apos;abord)</translation>
    </message>
    <message>
        <source>No history recorded for this item.</source>
        <translation>Aucun historique enregistré pour cet article.</translation>
    </message>
</context>
<context>
    <name>KpiPanel</name>
    <message>
        <source>no data yet</source>
        <translation>pas encore de données</translation>
    </message>
    <message>
        <source>Items per hour</source>
        <translation>Articles par heure</translation>
    </message>
    <message>
        <source>Disposition mix</source>
        <translation>Répartition des destinations</translation>
    </message>
    <message>
        <source>Override rate</source>
        <translation>Taux de correction</translation>
    </message>
    <message>
        <source>Time from trigger to decision (ms)</source>
        <translation>Délai entre déclenchement et décision (ms)</translation>
    </message>
    <message>
        <source>no statistics source connected</source>
        <translation>aucune source de statistiques connectée</translation>
    </message>
    <message>
        <source>Statistics: waiting for the first report…</source>
        <translation>Statistiques : en attente du premier rapport…</translation>
    </message>
    <message>
        <source>Statistics could not be read: {problem}. The figures below are the last good ones.</source>
        <translation>Statistiques illisibles : {problem}. Les chiffres ci-dessous sont les derniers valables.</translation>
    </message>
    <message>
        <source>{count} items in {hours} h</source>
        <translation>{count} articles en {hours} h</translation>
    </message>
    <message>
        <source>{count} items</source>
        <translation>{count} articles</translation>
    </message>
    <message>
        <source>overridden {percent}</source>
        <translation>corrigés {percent}</translation>
    </message>
    <message>
        <source>time to decide: half within {p50} ms, 95 % within {p95} ms</source>
        <translation>délai de décision : la moitié en {p50} ms, 95 % en {p95} ms</translation>
    </message>
    <message>
        <source>Statistics: no items yet</source>
        <translation>Statistiques : aucun article pour l&apos;instant</translation>
    </message>
    <message>
        <source>last {hours} h</source>
        <translation>dernières {hours} h</translation>
    </message>
    <message>
        <source>period</source>
        <translation>période</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Inspect (F1)</source>
        <translation>Contrôle (F1)</translation>
    </message>
    <message>
        <source>Statistics (F2)</source>
        <translation>Statistiques (F2)</translation>
    </message>
    <message>
        <source>Settings (F3)</source>
        <translation>Réglages (F3)</translation>
    </message>
    <message>
        <source>Calibration (F4)</source>
        <translation>Étalonnage (F4)</translation>
    </message>
    <message>
        <source>About (F5)</source>
        <translation>À propos (F5)</translation>
    </message>
    <message>
        <source>Returns inspection station {station}</source>
        <translation>Poste de contrôle des retours {station}</translation>
    </message>
    <message>
        <source>Returns inspection station</source>
        <translation>Poste de contrôle des retours</translation>
    </message>
    <message>
        <source>No items to open yet.</source>
        <translation>Aucun article à ouvrir pour l&apos;instant.</translation>
    </message>
    <message>
        <source>This language cannot be shown here: the window stays as it was.</source>
        <translation>Cette langue ne peut pas être affichée ici : la fenêtre reste comme avant.</translation>
    </message>
    <message>
        <source>{action} failed: {problem}</source>
        <translation>{action} impossible : {problem}</translation>
    </message>
    <message>
        <source>Sign in first (F9): every action is recorded with your operator id.</source>
        <translation>Connectez-vous d&apos;abord (F9) : chaque action est enregistrée avec votre identifiant.</translation>
    </message>
    <message>
        <source>Nothing to undo: confirms and overrides are recorded after a few seconds.</source>
        <translation>Rien à annuler : confirmations et corrections sont enregistrées après quelques secondes.</translation>
    </message>
    <message>
        <source>{notice} — Undo (Ctrl+Z)</source>
        <translation>{notice} — Annuler (Ctrl+Z)</translation>
    </message>
    <message>
        <source>Signed in as {operator}.</source>
        <translation>Connecté en tant que {operator}.</translation>
    </message>
    <message>
        <source>No item to confirm yet.</source>
        <translation>Aucun article à confirmer pour l&apos;instant.</translation>
    </message>
    <message>
        <source>Confirmed {item}: {disposition}</source>
        <translation>{item} confirmé : {disposition}</translation>
    </message>
    <message>
        <source>Confirmed by {operator}</source>
        <translation>Confirmé par {operator}</translation>
    </message>
    <message>
        <source>{notice} — recorded.</source>
        <translation>{notice} — enregistré.</translation>
    </message>
    <message>
        <source>Confirm of {item} undone: nothing was recorded.</source>
        <translation>Confirmation de {item} annulée : rien n&apos;a été enregistré.</translation>
    </message>
    <message>
        <source>No item to override yet.</source>
        <translation>Aucun article à corriger pour l&apos;instant.</translation>
    </message>
    <message>
        <source>{item} — now {disposition}</source>
        <translation>{item} — actuellement « {disposition} »</translation>
    </message>
    <message>
        <source>Item without RMA — now {disposition}</source>
        <translation>Article sans RMA — actuellement « {disposition} »</translation>
    </message>
    <message>
        <source>Override of {item} to {disposition}</source>
        <translation>Correction de {item} vers {disposition}</translation>
    </message>
    <message>
        <source>Overridden to {disposition} by {operator}</source>
        <translation>Corrigé vers {disposition} par {operator}</translation>
    </message>
    <message>
        <source>Override of {item} to {disposition} undone: nothing was recorded.</source>
        <translation>Correction de {item} vers {disposition} annulée : rien n&apos;a été enregistré.</translation>
    </message>
    <message>
        <source>Take {item} out of lane {lane} ({lane_name}) and put it in {disposition}.</source>
        <translation>Sortez {item} de la voie {lane} ({lane_name}) et mettez-le en {disposition}.</translation>
    </message>
    <message>
        <source>No item to mark yet.</source>
        <translation>Aucun article à signaler pour l&apos;instant.</translation>
    </message>
    <message>
        <source>this item</source>
        <translation>cet article</translation>
    </message>
    <message>
        <source>Waiting for a supervisor</source>
        <translation>En attente d&apos;un superviseur</translation>
    </message>
    <message>
        <source>{item} marked for a supervisor.</source>
        <translation>{item} signalé au superviseur.</translation>
    </message>
    <message>
        <source>Re-inspection requested.</source>
        <translation>Nouveau contrôle demandé.</translation>
    </message>
    <message>
        <source>T triggers only in bench mode: on the conveyor the controller triggers.</source>
        <translation>T ne déclenche qu&apos;en mode poste manuel : sur le convoyeur, c&apos;est l&apos;automate qui déclenche.</translation>
    </message>
    <message>
        <source>Inspection triggered.</source>
        <translation>Contrôle déclenché.</translation>
    </message>
    <message>
        <source>Scan {code} ignored: hand scans trigger only in bench mode.</source>
        <translation>Scan {code} ignoré : les scans à la main ne déclenchent qu&apos;en mode poste manuel.</translation>
    </message>
    <message>
        <source>Scanned {code}: inspecting.</source>
        <translation>{code} scanné : contrôle en cours.</translation>
    </message>
    <message>
        <source>Scanner input without Enter ignored ({count} characters) — check the scanner&apos;s suffix setting (Enter or Tab after each code).</source>
        <translation>Saisie du scanner sans Entrée ignorée ({count} caractères) — vérifiez le suffixe réglé sur le scanner (Entrée ou Tab après chaque code).</translation>
    </message>
    <message>
        <source>Saved: bench mode from the next start. Restart the station to switch.</source>
        <translation>Enregistré : mode poste manuel au prochain démarrage. Redémarrez le poste pour en changer.</translation>
    </message>
    <message>
        <source>Saved: conveyor mode from the next start. Restart the station to switch.</source>
        <translation>Enregistré : mode convoyeur au prochain démarrage. Redémarrez le poste pour en changer.</translation>
    </message>
    <message>
        <source>Thresholds saved to config.toml (backup kept).</source>
        <translation>Seuils enregistrés dans config.toml (copie de l&apos;ancien gardée).</translation>
    </message>
</context>
<context>
    <name>NoteDialog</name>
    <message>
        <source>Needs supervisor</source>
        <translation>Superviseur demandé</translation>
    </message>
    <message>
        <source>what the supervisor should look at (optional)</source>
        <translation>ce que le superviseur doit regarder (facultatif)</translation>
    </message>
    <message>
        <source>Mark {item} for a supervisor.</source>
        <translation>Signaler {item} au superviseur.</translation>
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
        <source>an override needs a reason</source>
        <translation>une correction doit avoir un motif</translation>
    </message>
    <message>
        <source>an override to {disposition} needs the supervisor&apos;s PIN</source>
        <translation>une correction vers « {disposition} » nécessite le code du superviseur</translation>
    </message>
    <message>
        <source>the station runs on its built-in settings, so the mode cannot be saved: put [station] mode = &quot;{mode}&quot; in a config.toml and start the station with it</source>
        <translation>le poste tourne sur ses réglages intégrés, le mode ne peut donc pas être enregistré : mettez [station] mode = &quot;{mode}&quot; dans un config.toml et démarrez le poste avec</translation>
    </message>
    <message>
        <source>thresholds updated</source>
        <translation>seuils mis à jour</translation>
    </message>
</context>
<context>
    <name>OverrideDialog</name>
    <message>
        <source>Override the verdict</source>
        <translation>Corriger le verdict</translation>
    </message>
    <message>
        <source>{number}  {disposition}</source>
        <translation>{number}  {disposition}</translation>
    </message>
    <message>
        <source>pick a reason (arrow keys) or type one</source>
        <translation>choisissez un motif (flèches) ou tapez-le</translation>
    </message>
    <message>
        <source>Supervisor PIN</source>
        <translation>Code du superviseur</translation>
    </message>
    <message>
        <source>Item</source>
        <translation>Article</translation>
    </message>
    <message>
        <source>New disposition</source>
        <translation>Nouvelle destination</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Motif</translation>
    </message>
    <message>
        <source>No supervisor PIN is set on this station, so this override cannot be authorised here. Set [ui] supervisor_pin in config.toml or the STATION_SUPERVISOR_PIN environment variable, or mark the item &apos;needs supervisor&apos; (S) instead.</source>
        <translation>Aucun code superviseur n&apos;est réglé sur ce poste : cette correction ne peut pas être autorisée ici. Réglez [ui] supervisor_pin dans config.toml ou la variable d&apos;environnement STATION_SUPERVISOR_PIN, ou signalez plutôt l&apos;article au superviseur (S).</translation>
    </message>
    <message>
        <source>{disposition} needs a supervisor: ask them to type their PIN.</source>
        <translation>« {disposition} » demande un superviseur : demandez-lui de taper son code.</translation>
    </message>
    <message>
        <source>Pick or type a reason: it goes into the audit log and to central.</source>
        <translation>Choisissez ou tapez un motif : il est enregistré dans le journal et envoyé au central.</translation>
    </message>
    <message>
        <source>This override needs a supervisor PIN, and none is configured on this station.</source>
        <translation>Cette correction demande un code superviseur, et aucun n&apos;est réglé sur ce poste.</translation>
    </message>
    <message>
        <source>Ask the supervisor to type their PIN, then press Enter.</source>
        <translation>Demandez au superviseur de taper son code, puis appuyez sur Entrée.</translation>
    </message>
    <message>
        <source>Wrong supervisor PIN: ask the supervisor to type it again.</source>
        <translation>Code superviseur faux : demandez au superviseur de le retaper.</translation>
    </message>
</context>
<context>
    <name>OverrideReason</name>
    <message>
        <source>damage not seen by the camera</source>
        <translation>dommage non vu par la caméra</translation>
    </message>
    <message>
        <source>damage is only packaging</source>
        <translation>seul l&apos;emballage est abîmé</translation>
    </message>
    <message>
        <source>wrong product in the box</source>
        <translation>mauvais produit dans le carton</translation>
    </message>
    <message>
        <source>missing parts or accessories</source>
        <translation>pièces ou accessoires manquants</translation>
    </message>
    <message>
        <source>item is fine, model too strict</source>
        <translation>article en bon état, modèle trop sévère</translation>
    </message>
    <message>
        <source>label or code unreadable</source>
        <translation>étiquette ou code illisible</translation>
    </message>
</context>
<context>
    <name>PlaneStep</name>
    <message>
        <source>2 · Plane (px/mm)</source>
        <translation>2 · Plan (px/mm)</translation>
    </message>
    <message>
        <source>Measure the plane</source>
        <translation>Mesurer le plan</translation>
    </message>
    <message>
        <source>Lay the board flat on the belt where items pass, then press</source>
        <translation>Posez la mire à plat sur le tapis, là où passent les articles, puis appuyez</translation>
    </message>
    <message>
        <source>Lay the board flat on the belt or bench where items pass.</source>
        <translation>Posez la mire à plat sur le tapis ou le poste, là où passent les articles.</translation>
    </message>
    <message>
        <source>{scale} px/mm at the board, residual {residual} mm (raw pixels: the lens is not calibrated yet). Save to keep it.</source>
        <translation>{scale} px/mm sur la mire, résidu {residual} mm (pixels bruts : l&apos;objectif n&apos;est pas encore étalonné). Enregistrez pour le garder.</translation>
    </message>
    <message>
        <source>{scale} px/mm at the board, residual {residual} mm, camera {height} mm above it. Save to keep it.</source>
        <translation>{scale} px/mm sur la mire, résidu {residual} mm, caméra à {height} mm au-dessus. Enregistrez pour le garder.</translation>
    </message>
    <message>
        <source>{scale} px/mm at the board, residual {residual} mm. Save to keep it.</source>
        <translation>{scale} px/mm sur la mire, résidu {residual} mm. Enregistrez pour le garder.</translation>
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
        <source>{label} seen by the {view} camera, score {score:.2f}: beyond repair</source>
        <translation>{label} sur la vue « {view} », score {score:.2f} : irréparable</translation>
    </message>
    <message>
        <source>{label} on the {where} of the item, seen by the {view} camera, score {score:.2f}: beyond repair</source>
        <translation>{label} {where} de l&apos;article, sur la vue « {view} », score {score:.2f} : irréparable</translation>
    </message>
    <message>
        <source>{label} seen by the {view} camera, score {score:.2f}: repairable</source>
        <translation>{label} sur la vue « {view} », score {score:.2f} : réparable</translation>
    </message>
    <message>
        <source>{label} on the {where} of the item, seen by the {view} camera, score {score:.2f}: repairable</source>
        <translation>{label} {where} de l&apos;article, sur la vue « {view} », score {score:.2f} : réparable</translation>
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
        <source>the conveyor had already sent the item to lane {lane} ({lane_name}): it is to be moved by hand to {disposition} (lane {target_lane})</source>
        <translation>le convoyeur avait déjà envoyé l&apos;article en voie {lane} ({lane_name}) : il faut le déplacer à la main vers « {disposition} » (voie {target_lane})</translation>
    </message>
    <message>
        <source>station overloaded: not inspected, sent to the manual lane</source>
        <translation>station surchargée : article non contrôlé, envoyé sur la voie manuelle</translation>
    </message>
    <message>
        <source>disk full: not inspected, sent to the manual lane</source>
        <translation>disque plein : article non contrôlé, envoyé sur la voie manuelle</translation>
    </message>
    <message>
        <source>station behind: the item passed the camera before its picture was taken, sent to the manual lane</source>
        <translation>station en retard : l&apos;article est passé sous la caméra avant sa photo, envoyé sur la voie manuelle</translation>
    </message>
</context>
<context>
    <name>RecentList</name>
    <message>
        <source>All dispositions</source>
        <translation>Toutes destinations</translation>
    </message>
    <message>
        <source>Overridden</source>
        <translation>Corrigés</translation>
    </message>
    <message>
        <source>Flagged</source>
        <translation>Signalés</translation>
    </message>
    <message>
        <source>Search RMA, GTIN or SKU (Ctrl+F)</source>
        <translation>Chercher RMA, GTIN ou SKU (Ctrl+F)</translation>
    </message>
    <message>
        <source>Recent items</source>
        <translation>Derniers articles</translation>
    </message>
    <message>
        <source>1 found in the record (Esc: back)</source>
        <translation>1 trouvé dans l&apos;historique (Échap : retour)</translation>
    </message>
    <message>
        <source>{count} found in the record (Esc: back)</source>
        <translation>{count} trouvés dans l&apos;historique (Échap : retour)</translation>
    </message>
    <message>
        <source>{shown} of {total}</source>
        <translation>{shown} sur {total}</translation>
    </message>
</context>
<context>
    <name>RecentModel</name>
    <message>
        <source>Time</source>
        <translation>Heure</translation>
    </message>
    <message>
        <source>RMA</source>
        <translation>RMA</translation>
    </message>
    <message>
        <source>Expected SKU</source>
        <translation>SKU attendu</translation>
    </message>
    <message>
        <source>Seen SKU</source>
        <translation>SKU vu</translation>
    </message>
    <message>
        <source>Grade</source>
        <translation>Note</translation>
    </message>
    <message>
        <source>Disposition</source>
        <translation>Destination</translation>
    </message>
    <message>
        <source>Lane</source>
        <translation>Voie</translation>
    </message>
    <message>
        <source>By</source>
        <translation>Par</translation>
    </message>
    <message>
        <source>{disposition} (late)</source>
        <translation>{disposition} (en retard)</translation>
    </message>
</context>
<context>
    <name>RecordSearch</name>
    <message>
        <source>Searching the record for « {words} »…</source>
        <translation>Recherche de « {words} » dans l&apos;historique…</translation>
    </message>
    <message>
        <source>One item in the record matches « {words} ».</source>
        <translation>1 article de l&apos;historique correspond à « {words} ».</translation>
    </message>
    <message>
        <source>{count} items in the record match « {words} ».</source>
        <translation>{count} articles de l&apos;historique correspondent à « {words} ».</translation>
    </message>
    <message>
        <source>Nothing in the record matches « {words} ».</source>
        <translation>Rien dans l&apos;historique ne correspond à « {words} ».</translation>
    </message>
    <message>
        <source>Search for « {words} » failed: {problem}</source>
        <translation>La recherche de « {words} » a échoué : {problem}</translation>
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
    <name>RestartDialog</name>
    <message>
        <source>Switch mode</source>
        <translation>Changer de mode</translation>
    </message>
    <message>
        <source>Bench mode is saved.</source>
        <translation>Le mode poste manuel est enregistré.</translation>
    </message>
    <message>
        <source>Conveyor mode is saved.</source>
        <translation>Le mode convoyeur est enregistré.</translation>
    </message>
    <message>
        <source>{saved} Restart the station now to switch? The window closes for a few seconds and comes back in the new mode, you still signed in. Every item already inspected is kept; items still on the belt take the controller&apos;s default lane.</source>
        <translation>{saved} Redémarrer le poste maintenant pour changer ? La fenêtre se ferme quelques secondes et revient dans le nouveau mode, vous toujours connecté. Tous les articles déjà inspectés sont gardés ; ceux encore sur le tapis vont dans la voie par défaut de l&apos;automate.</translation>
    </message>
    <message>
        <source>Restart now</source>
        <translation>Redémarrer maintenant</translation>
    </message>
    <message>
        <source>Later</source>
        <translation>Plus tard</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Defect score for repair</source>
        <translation>Score de défaut pour réparation</translation>
    </message>
    <message>
        <source>Defect score for recycle</source>
        <translation>Score de défaut pour recyclage</translation>
    </message>
    <message>
        <source>Minimum similarity to the expected product</source>
        <translation>Ressemblance minimale au produit attendu</translation>
    </message>
    <message>
        <source>Minimum confidence (else manual review)</source>
        <translation>Confiance minimale (sinon contrôle manuel)</translation>
    </message>
    <message>
        <source>Decision thresholds</source>
        <translation>Seuils de décision</translation>
    </message>
    <message>
        <source>Written to config.toml; the old file is kept as a backup.</source>
        <translation>Écrits dans config.toml ; l&apos;ancien fichier est gardé en copie.</translation>
    </message>
    <message>
        <source>Apply thresholds</source>
        <translation>Appliquer les seuils</translation>
    </message>
    <message>
        <source>Mode</source>
        <translation>Mode</translation>
    </message>
    <message>
        <source>Conveyor: the controller triggers each item</source>
        <translation>Convoyeur : l&apos;automate déclenche chaque article</translation>
    </message>
    <message>
        <source>Bench: a scan or the T key triggers an inspection</source>
        <translation>Poste manuel : un scan ou la touche T déclenche un contrôle</translation>
    </message>
    <message>
        <source>Switch mode</source>
        <translation>Changer de mode</translation>
    </message>
    <message>
        <source># the station runs on the embedded defaults</source>
        <translation># le poste tourne avec les réglages par défaut intégrés</translation>
    </message>
    <message>
        <source>Configuration ({source}, read-only)</source>
        <translation>Configuration ({source}, lecture seule)</translation>
    </message>
    <message>
        <source>Configuration (embedded defaults, read-only)</source>
        <translation>Configuration (réglages par défaut intégrés, lecture seule)</translation>
    </message>
    <message>
        <source>Allowed from {low} to {high}</source>
        <translation>Autorisé de {low} à {high}</translation>
    </message>
    <message>
        <source>{label} ({low}–{high})</source>
        <translation>{label} ({low}–{high})</translation>
    </message>
    <message>
        <source>Language of the screen (for this session)</source>
        <translation>Langue de l&apos;écran (pour cette session)</translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <source>Operator sign-in</source>
        <translation>Connexion de l&apos;opérateur</translation>
    </message>
    <message>
        <source>badge or operator id, e.g. op-7</source>
        <translation>badge ou identifiant, par exemple op-7</translation>
    </message>
    <message>
        <source>Sign in before inspecting: your id is written with every confirm and override.</source>
        <translation>Connectez-vous avant de contrôler : votre identifiant est enregistré avec chaque confirmation et correction.</translation>
    </message>
    <message>
        <source>Operator id</source>
        <translation>Identifiant opérateur</translation>
    </message>
    <message>
        <source>Type your operator id: letters, digits, &apos;.&apos;, &apos;_&apos; or &apos;-&apos;, up to 32 characters.</source>
        <translation>Tapez votre identifiant : lettres, chiffres, « . », « _ » ou « - », 32 caractères au plus.</translation>
    </message>
</context>
<context>
    <name>StatusLine</name>
    <message>
        <source>items {items:&gt;6}  {per_hour:&gt;6}/h  p50 {p50:&gt;6} ms  late {late}  misrouted {misrouted}  lost {lost}  outbox {outbox}  | {health}</source>
        <translation>articles {items:&gt;6}  {per_hour:&gt;6}/h  p50 {p50:&gt;6} ms  en retard {late}  mal aiguillés {misrouted}  perdus {lost}  à envoyer {outbox}  | {health}</translation>
    </message>
    <message>
        <source>all OK</source>
        <translation>tout va bien</translation>
    </message>
    <message>
        <source>{time} status: {line}</source>
        <translation>{time} état : {line}</translation>
    </message>
    <message>
        <source>Station stopped: {items} items recorded ({confirmed} seen in their lane by the controller); late {late}, wrong lane {misrouted}, lost {lost}; not inspected: {overloaded} (too busy), {disk_full} (disk full); without a record {unrecorded}; lane results not saved {record_errors}; decision time p50 {p50} ms, p95 {p95} ms; waiting for central {outbox}, and {pictures} pictures.</source>
        <translation>Poste arrêté : {items} articles enregistrés ({confirmed} vus dans leur voie par l&apos;automate) ; en retard {late}, mauvaise voie {misrouted}, perdus {lost} ; non contrôlés : {overloaded} (poste surchargé), {disk_full} (disque plein) ; sans enregistrement {unrecorded} ; résultats de voie non enregistrés {record_errors} ; délai de décision p50 {p50} ms, p95 {p95} ms ; en attente du central {outbox}, et {pictures} photos.</translation>
    </message>
</context>
<context>
    <name>StatusPanel</name>
    <message>
        <source>Camera</source>
        <translation>Caméra</translation>
    </message>
    <message>
        <source>Camera {name}</source>
        <translation>Caméra {name}</translation>
    </message>
    <message>
        <source>Conveyor</source>
        <translation>Convoyeur</translation>
    </message>
    <message>
        <source>MQTT</source>
        <translation>MQTT</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>Modèles</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Disque</translation>
    </message>
    <message>
        <source>Calibration</source>
        <translation>Étalonnage</translation>
    </message>
    <message>
        <source>{component}: {status}</source>
        <translation>{component} : {status}</translation>
    </message>
    <message>
        <source>{count} cameras live</source>
        <translation>{count} caméras en marche</translation>
    </message>
    <message>
        <source>{component}: {problem}</source>
        <translation>{component} : {problem}</translation>
    </message>
    <message>
        <source>(+1 more, hover for all)</source>
        <translation>(+1 autre, survolez pour tout voir)</translation>
    </message>
    <message>
        <source>(+{count} more, hover for all)</source>
        <translation>(+{count} autres, survolez pour tout voir)</translation>
    </message>
</context>
<context>
    <name>TopBar</name>
    <message>
        <source>Items with no record: {count}</source>
        <translation>Articles non enregistrés : {count}</translation>
    </message>
    <message>
        <source>Not inspected, too busy: {count}</source>
        <translation>Non contrôlés, poste saturé : {count}</translation>
    </message>
    <message>
        <source>Not inspected, disk full: {count}</source>
        <translation>Non contrôlés, disque plein : {count}</translation>
    </message>
    <message>
        <source>Lane results not saved: {count}</source>
        <translation>Résultats de voie non enregistrés : {count}</translation>
    </message>
    <message>
        <source>Too late for the conveyor: {count}</source>
        <translation>Trop tard pour le convoyeur : {count}</translation>
    </message>
    <message>
        <source>Wrong lane: {count}</source>
        <translation>Mauvaise voie : {count}</translation>
    </message>
    <message>
        <source>Lost on the belt: {count}</source>
        <translation>Perdus sur le tapis : {count}</translation>
    </message>
    <message>
        <source>Conveyor jams: {count}</source>
        <translation>Bourrages du convoyeur : {count}</translation>
    </message>
    <message>
        <source>Emergency stops: {count}</source>
        <translation>Arrêts d&apos;urgence : {count}</translation>
    </message>
    <message>
        <source>Operator {operator}</source>
        <translation>Opérateur {operator}</translation>
    </message>
    <message>
        <source>Not signed in (F9)</source>
        <translation>Aucun opérateur identifié (F9)</translation>
    </message>
    <message>
        <source>Bench mode</source>
        <translation>Mode poste manuel</translation>
    </message>
    <message>
        <source>Conveyor mode</source>
        <translation>Mode convoyeur</translation>
    </message>
    <message>
        <source>{mode} mode</source>
        <translation>Mode {mode}</translation>
    </message>
    <message>
        <source>Items today: {count}</source>
        <translation>Articles aujourd&apos;hui : {count}</translation>
    </message>
    <message>
        <source>This hour: {count}</source>
        <translation>Cette heure : {count}</translation>
    </message>
    <message>
        <source>Waiting for central: {count}</source>
        <translation>En attente du central : {count}</translation>
    </message>
    <message>
        <source>This hour: the items recorded since {hour}:00, as Statistics counts them.</source>
        <translation>Cette heure : les articles enregistrés depuis {hour} h 00, comptés comme dans Statistiques.</translation>
    </message>
</context>
<context>
    <name>UndoBar</name>
    <message>
        <source>Undo (Ctrl+Z)</source>
        <translation>Annuler (Ctrl+Z)</translation>
    </message>
    <message>
        <source>{notice} — recorded in {seconds} s unless you undo it.</source>
        <translation>{notice} — enregistré dans {seconds} s sauf si vous annulez.</translation>
    </message>
    <message>
        <source>{notice} — recorded in {seconds} s unless you undo it ({count} waiting).</source>
        <translation>{notice} — enregistré dans {seconds} s sauf si vous annulez ({count} en attente).</translation>
    </message>
</context>
<context>
    <name>View</name>
    <message>
        <source>top</source>
        <translation>dessus</translation>
    </message>
    <message>
        <source>left</source>
        <translation>gauche</translation>
    </message>
    <message>
        <source>right</source>
        <translation>droite</translation>
    </message>
    <message>
        <source>front</source>
        <translation>avant</translation>
    </message>
    <message>
        <source>back</source>
        <translation>arrière</translation>
    </message>
    <message>
        <source>bottom</source>
        <translation>dessous</translation>
    </message>
</context>
<context>
    <name>ViewStrip</name>
    <message>
        <source>{camera}: damage</source>
        <translation>{camera} : dommage</translation>
    </message>
    <message>
        <source>{view} (shown above)</source>
        <translation>{view} (en grand)</translation>
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
